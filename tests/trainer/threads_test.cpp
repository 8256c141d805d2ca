#include "trainer/threads.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace fracsweep::trainer {
namespace {

// Sets an environment variable for the test's lifetime.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old, had_ = true;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { had_ ? setenv(name_, old_.c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(IntraOpThreads, ConfiguredWins) {
  ScopedEnv a("OMPI_COMM_WORLD_LOCAL_SIZE", "4");
  EXPECT_EQ(intra_op_threads(3, 16), 3);
}

TEST(IntraOpThreads, CoresPerLocalRank) {
  ScopedEnv a("OMPI_COMM_WORLD_LOCAL_SIZE", nullptr);
  ScopedEnv b("SLURM_NTASKS_PER_NODE", nullptr);
  EXPECT_EQ(intra_op_threads(0, 16), 16);
  {
    ScopedEnv c("SLURM_NTASKS_PER_NODE", "4(x2)");
    EXPECT_EQ(intra_op_threads(0, 16), 4);
    ScopedEnv d("OMPI_COMM_WORLD_LOCAL_SIZE", "8");  // Open MPI's count first
    EXPECT_EQ(intra_op_threads(0, 16), 2);
  }
  ScopedEnv e("OMPI_COMM_WORLD_LOCAL_SIZE", "3");
  EXPECT_EQ(intra_op_threads(0, 2), 1);  // never 0
  ScopedEnv f("OMPI_COMM_WORLD_LOCAL_SIZE", "garbage");
  EXPECT_EQ(intra_op_threads(0, 2), 2);
}

}  // namespace
}  // namespace fracsweep::trainer
