// The gradient all-reduce over several ranks (run under mpirun -np 2): the
// average is the mean over ranks for any bucket size, data parallelism over a
// group equals one rank on the whole batch, any() ORs, and check_agreement()
// names the rank that differs. Every rank derives the other ranks' values
// from their rank numbers, so the expected answers are computed locally.
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.h"
#include "datastore/sampler.h"
#include "launcher/mpi.h"
#include "launcher/mpi_sync.h"
#include "test_util.h"
#include "trainer/backends.h"
#include "trainer/models/resnet.h"

#ifdef FRACSWEEP_HAVE_NCCL
#include "launcher/nccl_sync.h"
#endif

namespace fracsweep::launcher {
namespace {

const std::vector<std::vector<int64_t>> kShapes = {
    {}, {1}, {3}, {0}, {7, 5}, {2, 3, 4}, {16, 3, 3, 3}, {1000}, {5, 1, 1}, {257}, {4, 64}};

// What rank `rank` holds in call `call`: small multiples of 1/4, so sums are exact.
std::vector<torch::Tensor> gradients_of(int rank, int call) {
  std::vector<torch::Tensor> out;
  for (size_t i = 0; i < kShapes.size(); ++i) {
    const int64_t n = std::accumulate(kShapes[i].begin(), kShapes[i].end(), int64_t{1},
                                      std::multiplies<>());
    out.push_back((torch::arange(n, torch::kFloat) * (rank + 1) + 0.25 * static_cast<double>(i) -
                   3.0 * rank + call)
                      .reshape(kShapes[i]));
  }
  return out;
}

std::vector<torch::Tensor> mean_over_ranks(int size, int call) {
  std::vector<torch::Tensor> sum = gradients_of(0, call);
  for (int r = 1; r < size; ++r) {
    const std::vector<torch::Tensor> other = gradients_of(r, call);
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += other[i];
  }
  for (torch::Tensor& t : sum) t /= size;
  return sum;
}

size_t total_floats() {
  size_t total = 0;
  for (const torch::Tensor& t : gradients_of(0, 0)) total += static_cast<size_t>(t.numel());
  return total;
}

void expect_mean(const std::vector<torch::Tensor>& got, int size, int call) {
  const std::vector<torch::Tensor> want = mean_over_ranks(size, call);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].sizes(), want[i].sizes()) << "tensor " << i;
    EXPECT_TRUE(torch::allclose(got[i], want[i], 1e-6, 1e-6))
        << "tensor " << i << " (shape " << want[i].sizes() << "), call " << call
        << ": largest difference " << (got[i] - want[i]).abs().max().item<float>();
  }
}

TEST(MpiGradientSync, AverageIsTheMeanOverRanksForEveryBucketSize) {
  MpiComm world = MpiComm::dup(MPI_COMM_WORLD);
  ASSERT_GE(world.size(), 2) << "run under mpirun -np 2 (or more)";
  for (const size_t bucket_bytes : {size_t{4}, size_t{1024}, size_t{64} << 20}) {
    SCOPED_TRACE(::testing::Message() << "bucket " << bucket_bytes << " bytes");
    MpiGradientSync sync(world.get(), MpiSyncOptions{bucket_bytes});
    EXPECT_EQ(sync.group_size(), world.size());
    EXPECT_EQ(sync.group_rank(), world.rank());
    // Twice: the second call reuses the buffers of the first and must not see its values.
    for (int call = 0; call < 2; ++call) {
      std::vector<torch::Tensor> grads = gradients_of(world.rank(), call);
      sync.average(grads);
      expect_mean(grads, world.size(), call);
    }
    const size_t floats_per_bucket = bucket_bytes / sizeof(float);
    EXPECT_EQ(sync.last_bucket_count(),
              (total_floats() + floats_per_bucket - 1) / floats_per_bucket);
    EXPECT_EQ(sync.average_calls(), 2);
    EXPECT_GT(sync.average_seconds(), 0.0);
  }
}

TEST(MpiGradientSync, AttachedGradientsAreReducedInPlaceInTheFlatBuffer) {
  MpiComm world = MpiComm::dup(MPI_COMM_WORLD);
  ASSERT_GE(world.size(), 2) << "run under mpirun -np 2 (or more)";
  for (const size_t bucket_bytes : {size_t{4}, size_t{1024}, size_t{64} << 20}) {
    SCOPED_TRACE(::testing::Message() << "bucket " << bucket_bytes << " bytes");
    MpiGradientSync sync(world.get(), MpiSyncOptions{bucket_bytes});
    std::vector<torch::Tensor> params;
    for (const auto& shape : kShapes) params.push_back(torch::zeros(shape).requires_grad_());
    sync.attach(params);
    // Consecutive views of one buffer, in reverse (the order backward writes them).
    for (size_t i = 1; i < params.size(); ++i)
      EXPECT_EQ(params[i - 1].grad().data_ptr<float>(),
                params[i].grad().data_ptr<float>() + params[i].numel());
    for (int call = 0; call < 2; ++call) {
      const std::vector<torch::Tensor> values = gradients_of(world.rank(), call);
      std::vector<torch::Tensor> grads;
      for (size_t i = 0; i < params.size(); ++i) {
        params[i].mutable_grad().copy_(values[i]);
        grads.push_back(params[i].grad());
      }
      const float* before = grads[0].data_ptr<float>();
      sync.average(grads);
      EXPECT_EQ(grads[0].data_ptr<float>(), before);  // reduced where it was
      expect_mean(grads, world.size(), call);
    }
    // Buckets hold whole gradients: one float each gives every gradient its own; a
    // large bucket takes them all (the 1 MiB first bucket holds these few floats).
    size_t non_empty = 0;
    for (const auto& p : params) non_empty += p.numel() > 0;
    if (bucket_bytes == 4) {
      EXPECT_EQ(sync.last_bucket_count(), non_empty);
    }
    if (bucket_bytes == (size_t{64} << 20)) {
      EXPECT_EQ(sync.last_bucket_count(), 1u);
    }
    EXPECT_EQ(sync.last_early_buckets(), 0u);  // no backward ran
  }
}

// With a real backward, hooks start buckets while backward still runs, and the
// result is the same mean as the packed all-reduce of copies of the gradients.
TEST(MpiGradientSync, OverlappedBucketsStartDuringBackwardAndGiveTheMean) {
  MpiComm world = MpiComm::dup(MPI_COMM_WORLD);
  ASSERT_GE(world.size(), 2) << "run under mpirun -np 2 (or more)";
  // The reference reduces on a communicator of its own, apart from the buckets in flight.
  MpiComm reference = MpiComm::dup(MPI_COMM_WORLD);
  for (const bool overlap : {true, false}) {
    SCOPED_TRACE(overlap ? "overlap" : "no overlap");
    // One model on every rank, and its twin, whose gradients stay local and are
    // averaged by the packed all-reduce as the reference.
    const auto make = [] {
      torch::manual_seed(7);
      return torch::nn::Sequential(torch::nn::Linear(8, 16), torch::nn::ReLU(),
                                   torch::nn::Linear(16, 16), torch::nn::ReLU(),
                                   torch::nn::Linear(16, 3));
    };
    torch::nn::Sequential net = make(), twin = make();
    std::vector<torch::Tensor> params = net->parameters();
    MpiSyncOptions o;
    o.bucket_bytes = 4;  // a bucket per gradient: the most chances to start early
    o.first_bucket_bytes = 4;
    o.overlap = overlap;
    MpiGradientSync sync(world.get(), o);
    sync.attach(params);
    torch::manual_seed(100 + static_cast<uint64_t>(world.rank()));  // each rank its own batch
    for (int step = 0; step < 2; ++step) {
      for (auto& p : params) p.mutable_grad().zero_();
      twin->zero_grad();
      const torch::Tensor x = torch::randn({4, 8});
      net->forward(x).pow(2).sum().backward();
      twin->forward(x).pow(2).sum().backward();
      std::vector<torch::Tensor> copies, grads;
      for (auto& p : twin->parameters()) copies.push_back(p.grad());
      for (auto& p : params) grads.push_back(p.grad());
      MpiGradientSync packed(reference.get());
      packed.average(copies);
      sync.average(grads);
      for (size_t i = 0; i < grads.size(); ++i)
        EXPECT_TRUE(torch::allclose(grads[i], copies[i], 1e-6, 1e-7)) << "gradient " << i;
      EXPECT_EQ(sync.last_bucket_count(), params.size());  // one per gradient here
      if (overlap) EXPECT_GT(sync.last_early_buckets(), 0u);
      else EXPECT_EQ(sync.last_early_buckets(), 0u);
    }
  }
}

TEST(MpiGradientSync, RejectsTensorsItCannotAverageBeforeCommunicating) {
  MpiComm world = MpiComm::dup(MPI_COMM_WORLD);
  MpiGradientSync sync(world.get());
  std::vector<torch::Tensor> doubles = {torch::ones({3}, torch::kDouble)};
  EXPECT_THROW(sync.average(doubles), core::InternalError);
  std::vector<torch::Tensor> strided = {torch::ones({4, 4}).t()};
  EXPECT_THROW(sync.average(strided), core::InternalError);
  std::vector<torch::Tensor> undefined = {torch::Tensor()};
  EXPECT_THROW(sync.average(undefined), core::InternalError);
  EXPECT_THROW(MpiGradientSync(world.get(), MpiSyncOptions{2}), core::ConfigError);
}

// A backbone plus a classifier, as the models of the papers put it together.
struct TinyClassifier : torch::nn::Module {
  TinyClassifier()
      : backbone(register_module("backbone", trainer::ResNet18(trainer::ResNetOptions{1, 4}))),
        fc(register_module("fc", torch::nn::Linear(backbone->out_channels(4), 3))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return fc->forward(backbone->forward(x).mean({2, 3}));
  }
  trainer::ResNet18 backbone;
  torch::nn::Linear fc;
};

std::vector<torch::Tensor> gradients_on(TinyClassifier& net, const torch::Tensor& images,
                                        const torch::Tensor& labels) {
  net.zero_grad();
  torch::nn::functional::cross_entropy(net.forward(images), labels).backward();
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& p : net.parameters()) out.push_back(p.grad().clone());
  return out;
}

TEST(MpiGradientSync, DataParallelGroupEqualsOneRankOnTheWholeBatch) {
  MpiComm world = MpiComm::dup(MPI_COMM_WORLD);
  constexpr int64_t kBatch = 8;
  if (kBatch % world.size() != 0)
    GTEST_SKIP() << "needs a rank count that divides the batch of " << kBatch;
  constexpr uint64_t kSeed = 20240607;
  SCOPED_TRACE(::testing::Message() << "seed " << kSeed);
  torch::manual_seed(kSeed);
  TinyClassifier net;
  // Running statistics instead of batch statistics: the loss is then a mean of
  // per-sample terms, so the mean of the halves' gradients is the whole batch's.
  net.eval();
  torch::manual_seed(kSeed + 1);
  const torch::Tensor images = torch::randn({kBatch, 1, 32, 32});
  const torch::Tensor labels = torch::randint(0, 3, {kBatch}, torch::kLong);

  const std::vector<torch::Tensor> whole = gradients_on(net, images, labels);
  std::vector<uint32_t> order(kBatch);
  std::iota(order.begin(), order.end(), 0u);
  const std::vector<uint32_t> mine = datastore::rank_slice(order, world.rank(), world.size());
  const torch::Tensor index =
      torch::tensor(std::vector<int64_t>(mine.begin(), mine.end()), torch::kLong);
  std::vector<torch::Tensor> grads =
      gradients_on(net, images.index_select(0, index), labels.index_select(0, index));

  // Before averaging, this rank's share must give another gradient, or the check below proves
  // nothing.
  bool differs = false;
  for (size_t i = 0; i < grads.size(); ++i)
    differs = differs || !torch::allclose(grads[i], whole[i], 1e-5, 1e-6);
  EXPECT_TRUE(differs) << "the half batch already gives the whole batch's gradient";

  MpiGradientSync sync(world.get(), MpiSyncOptions{size_t{16} << 10});
  sync.average(grads);
  ASSERT_EQ(grads.size(), whole.size());
  const auto names = net.named_parameters().keys();
  for (size_t i = 0; i < grads.size(); ++i)
    EXPECT_TRUE(torch::allclose(grads[i], whole[i], 1e-5, 1e-6))
        << names[i] << ": largest difference " << (grads[i] - whole[i]).abs().max().item<float>();
  EXPECT_GT(sync.last_bucket_count(), 1u);
}

TEST(MpiGradientSync, AnyIsTheBitwiseOrOverRanks) {
  MpiComm world = MpiComm::dup(MPI_COMM_WORLD);
  MpiGradientSync sync(world.get());
  const uint32_t mine = world.rank() == 0 ? 1u : world.rank() == 1 ? 4u : 0u;
  EXPECT_EQ(sync.any(mine), 5u);
  EXPECT_EQ(sync.any(0), 0u);
}

std::string config_error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(MpiGradientSync, CheckAgreementNamesTheRankThatDiffers) {
  MpiComm world = MpiComm::dup(MPI_COMM_WORLD);
  MpiGradientSync sync(world.get());
  const trainer::ModelSignature same{11689512, 0x1234, 0xabcd};
  EXPECT_NO_THROW(sync.check_agreement(same));

  trainer::ModelSignature params = same;
  if (world.rank() == 1) params.parameters = 11689000;
  const std::string message = config_error_of([&] { sync.check_agreement(params); });
  ASSERT_FALSE(message.empty()) << "no core::ConfigError on rank " << world.rank();
  EXPECT_HAS(message, "rank 1 (host " + mpi_host_name());
  EXPECT_HAS(message, "11,689,000 parameters vs 11,689,512");
  EXPECT_HAS(message, "same fracsweep build");

  trainer::ModelSignature config = same;
  if (world.rank() == 1) config.config_hash = 0xabce;
  const std::string config_message = config_error_of([&] { sync.check_agreement(config); });
  ASSERT_FALSE(config_message.empty()) << "no core::ConfigError on rank " << world.rank();
  EXPECT_HAS(config_message, "rank 1 ");
  EXPECT_HAS(config_message, "config");
  EXPECT_EQ(config_message.find("parameters vs"), std::string::npos) << config_message;
}

#ifdef FRACSWEEP_HAVE_NCCL

TEST(NcclGradientSync, AverageIsTheMeanOverRanks) {
  MpiComm world = MpiComm::dup(MPI_COMM_WORLD);
  // Every rank must take the same branch, or the others would wait in a collective.
  const int devices = trainer::cuda_device_count();
  int fewest = 0;
  FRACSWEEP_MPI_CHECK(MPI_Allreduce(&devices, &fewest, 1, MPI_INT, MPI_MIN, world.get()));
  if (fewest < 1) GTEST_SKIP() << "needs CUDA: cudaGetDeviceCount reports no GPU";
  MPI_Comm node_raw = MPI_COMM_NULL;
  FRACSWEEP_MPI_CHECK(
      MPI_Comm_split_type(world.get(), MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node_raw));
  int local_rank = 0, local_size = 1;
  MPI_Comm_rank(node_raw, &local_rank);
  MPI_Comm_size(node_raw, &local_size);
  MPI_Comm_free(&node_raw);
  const int short_of_devices = local_size > devices ? 1 : 0;
  int any_short = 0;
  FRACSWEEP_MPI_CHECK(
      MPI_Allreduce(&short_of_devices, &any_short, 1, MPI_INT, MPI_MAX, world.get()));
  if (any_short)
    GTEST_SKIP() << "needs one GPU per rank (NCCL refuses two ranks on one device): "
                 << local_size << " ranks on this node, " << devices << " GPU(s)";

  NcclGradientSync sync(world.get(), local_rank % devices, NcclSyncOptions{1024});
  for (int call = 0; call < 2; ++call) {
    std::vector<torch::Tensor> grads = gradients_of(world.rank(), call);
    sync.average(grads);
    expect_mean(grads, world.size(), call);
  }
  EXPECT_EQ(sync.last_bucket_count(), (total_floats() + 255) / 256);
}

#else

TEST(NcclGradientSync, AverageIsTheMeanOverRanks) {
  GTEST_SKIP() << "this build has no NCCL backend (CUDA and NCCL were not found at configure time)";
}

#endif

}  // namespace
}  // namespace fracsweep::launcher
