// See handoff.h.
#include "cli/handoff.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace fracsweep::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTrainingExecutable = "fracsweep-train";

}  // namespace

std::string training_executable() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  CHECK_OR_THROW(core::Error, !ec, "cannot find this executable's folder (/proc/self/exe: ",
                 ec.message(), "), so not ", kTrainingExecutable, " either");
  const fs::path beside = self.parent_path() / kTrainingExecutable;
  const fs::path installed =
      self.parent_path().parent_path() / "libexec" / "fracsweep" / kTrainingExecutable;
  for (const fs::path& p : {beside, installed})
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  throw core::Error(core::str_cat(
      "the training commands are in ", kTrainingExecutable, ", which is neither at ",
      beside.string(), " nor at ", installed.string(),
      ": build it (scripts/setup.sh builds both) or install it beside fracsweep"));
}

int hand_off(const std::string& command, const Args& args) {
  const std::string exe = training_executable();
  std::vector<std::string> words{exe, command};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  ::execv(exe.c_str(), argv.data());
  throw core::Error(core::str_cat("cannot start ", exe, ": ", std::strerror(errno)));
}

}  // namespace fracsweep::cli
