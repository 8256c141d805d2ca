#include "core/fs.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "test_util.h"

namespace fracsweep::core {
namespace {

TEST(Fs, AtomicWriteReplacesContentAndLeavesNoTemporary) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "a.txt").string();
  write_file_atomic(path, "first version, longer than the second\n");
  write_file_atomic(path, "second\n");
  EXPECT_EQ(read_file(path), "second\n");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(Fs, ReadsBinaryContentExactly) {
  testing::TempDir dir;
  std::string content(200000, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 31 % 251);
  const std::string path = (dir.path() / "b.bin").string();
  write_file_atomic(path, content);
  EXPECT_EQ(read_file(path), content);
}

TEST(Fs, ErrorsNameThePath) {
  testing::TempDir dir;
  const std::string missing = (dir.path() / "no" / "such.txt").string();
  try {
    read_file(missing);
    FAIL() << "no exception";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_file_atomic(missing, "x"), IoError);
  EXPECT_THROW(read_file(dir.path().string()), IoError);
}

}  // namespace
}  // namespace fracsweep::core
