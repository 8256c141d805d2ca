// main() of the multi-rank tests, run under mpirun (ctest label "mpi").
//
// Every rank runs every test, since the tests call collectives. Only world
// rank 0 prints GoogleTest's report; the other ranks print just their own
// failures, prefixed with their rank. The exit code is non-zero if a test
// failed on any rank, so a failure seen only by rank 1 still fails the run.
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/torch.h>

#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "launcher/mpi.h"

namespace {

class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  // Remembered here: UnitTest::current_test_info() would deadlock inside OnTestPartResult,
  // which GoogleTest calls with the same lock held.
  void OnTestStart(const ::testing::TestInfo& test) override {
    test_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s failed at %s:%d\n%s\n", rank_, test_.c_str(),
                 result.file_name() ? result.file_name() : "?", result.line_number(),
                 result.message());
  }

 private:
  int rank_;
  std::string test_;
};

}  // namespace

int main(int argc, char** argv) {
  // Outside the try block, so that MPI is still up when the handler aborts the peers.
  std::optional<fracsweep::launcher::MpiSession> session;
  try {
    session.emplace();
    // Ranks share the machine's cores; one intra-op thread each keeps them from contending.
    torch::set_num_threads(1);
    ::testing::InitGoogleTest(&argc, argv);
    if (session->world_rank() != 0) {
      ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
      listeners.Append(new FailurePrinter(session->world_rank()));
    }
    const int mine = RUN_ALL_TESTS();
    int worst = 0;
    FRACSWEEP_MPI_CHECK(MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    return worst;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fracsweep_mpi_tests: %s\n", e.what());
    // A rank that leaves early would leave its peers blocked in a collective.
    if (session) session->abort(1);
    return 1;
  }
}
