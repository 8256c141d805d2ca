// See bench_allreduce.h.
#include "launcher/bench_allreduce.h"

#include <fmt/format.h>
#include <mpi.h>
#include <torch/torch.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "cli/options.h"
#include "launcher/commands.h"
#include "launcher/mpi.h"
#include "launcher/mpi_sync.h"
#include "trainer/models/resnet.h"

namespace fracsweep::launcher {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  int width = 64;   // ResNet width (torchvision's is 64)
  int image = 64;   // image side in pixels
  int batch = 16;   // samples per rank and step
  int steps = 10;   // timed steps per row
  int warmup = 2;   // untimed steps before each row
  int threads = 1;  // intra-op threads per rank
  std::string buckets = "1,4,16,64";  // bucket sizes in MiB
};

// "1,4,0.5" -> {1, 4, 0.5}. Every item must parse completely as a positive
// number of MiB that holds at least one float.
std::vector<double> parse_bucket_list(const std::string& text) {
  std::vector<double> out;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, end - begin);
    size_t used = 0;
    double mib = 0;
    try {
      mib = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;  // reported below with the item
    }
    CHECK_OR_THROW(core::ConfigError, used > 0 && used == item.size() && std::isfinite(mib) &&
                       mib * (1 << 20) >= 4,
                   "--buckets: '", item, "' in '", text, "' is not a bucket size in MiB of at least"
                   " 4 bytes (expected numbers separated by commas, e.g. 1,4,16,64)");
    out.push_back(mib);
    begin = end + 1;
  }
  return out;
}

// The backbone with global average pooling and a linear classifier.
struct Classifier : torch::nn::Module {
  Classifier(int width, int classes)
      : backbone(register_module("backbone", trainer::ResNet18(trainer::ResNetOptions{1, width}))),
        fc(register_module("fc", torch::nn::Linear(backbone->out_channels(4), classes))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return fc->forward(backbone->forward(x).mean({2, 3}));
  }
  trainer::ResNet18 backbone;
  torch::nn::Linear fc;
};

struct Row {
  double step_s = 0;     // mean seconds per step, slowest rank
  double average_s = 0;  // mean seconds inside average() per step, least over the ranks
  size_t buckets = 0;
};

Row measure(Classifier& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
            const torch::Tensor& labels, MpiGradientSync* sync, bool in_place,
            const BenchOptions& o, MPI_Comm comm) {
  std::vector<torch::Tensor> params = net.parameters();
  {
    // Each row starts from gradients of its own: views of the sync's buffer
    // (in place), or tensors that average() packs into its staging buffer.
    torch::NoGradGuard no_grad;
    for (torch::Tensor& p : params) p.mutable_grad() = torch::Tensor();
    if (in_place) sync->attach(params);
  }
  const auto step = [&] {
    if (in_place) {
      torch::NoGradGuard no_grad;
      for (torch::Tensor& p : params) p.mutable_grad().zero_();
    } else {
      optimizer.zero_grad();
    }
    torch::nn::functional::cross_entropy(net.forward(images), labels).backward();
    if (sync != nullptr) {
      // Rebuilt each step: LibTorch 2 replaces the gradient tensors after zero_grad().
      std::vector<torch::Tensor> grads;
      for (const torch::Tensor& p : net.parameters()) grads.push_back(p.grad());
      sync->average(grads);
    }
    optimizer.step();
  };
  for (int i = 0; i < o.warmup; ++i) step();
  // Every rank starts the timed steps together, so no rank's wait for a late peer is counted.
  FRACSWEEP_MPI_CHECK(MPI_Barrier(comm));
  const double average_before = sync != nullptr ? sync->average_seconds() : 0.0;
  const auto start = Clock::now();
  for (int i = 0; i < o.steps; ++i) step();
  const double step_s = std::chrono::duration<double>(Clock::now() - start).count() / o.steps;
  const double average_s =
      sync != nullptr ? (sync->average_seconds() - average_before) / o.steps : 0.0;
  // A rank that reaches average() early waits there for the others, so its time in average()
  // is transfer plus imbalance; the least over the ranks is close to the transfer alone.
  Row row;
  FRACSWEEP_MPI_CHECK(MPI_Allreduce(&step_s, &row.step_s, 1, MPI_DOUBLE, MPI_MAX, comm));
  FRACSWEEP_MPI_CHECK(MPI_Allreduce(&average_s, &row.average_s, 1, MPI_DOUBLE, MPI_MIN, comm));
  row.buckets = sync != nullptr ? sync->last_bucket_count() : 0;
  return row;
}

int run(const BenchOptions& o, const std::vector<double>& buckets_mib) {
  MpiComm world = MpiComm::dup(MPI_COMM_WORLD);
  const int rank = world.rank(), size = world.size();
  torch::set_num_threads(o.threads);

  torch::manual_seed(1);  // the same initial model on every rank, as in a real group
  Classifier net(o.width, 3);
  net.train();
  torch::optim::Adam optimizer(net.parameters(), torch::optim::AdamOptions(1e-4));
  torch::manual_seed(2 + static_cast<uint64_t>(rank));  // each rank its own batch
  const torch::Tensor images = torch::randn({o.batch, 1, o.image, o.image});
  const torch::Tensor labels = torch::randint(0, 3, {o.batch}, torch::kLong);
  int64_t parameters = 0;
  for (const torch::Tensor& p : net.parameters()) parameters += p.numel();

  std::vector<std::string> lines;
  const auto print_row = [&](const std::string& label, const Row& r, bool synced) {
    if (!synced) {
      lines.push_back(fmt::format("| {} | - | {:.1f} | - | - |", label, r.step_s * 1e3));
      return;
    }
    lines.push_back(fmt::format("| {} | {} | {:.1f} | {:.1f} | {:.1f} |", label, r.buckets,
                                r.step_s * 1e3, r.average_s * 1e3,
                                100.0 * r.average_s / r.step_s));
  };
  print_row("none (1 rank compute only)",
            measure(net, optimizer, images, labels, nullptr, false, o, world.get()), false);
  enum class Mode { kPacked, kInPlace, kOverlapped };
  for (const Mode mode : {Mode::kPacked, Mode::kInPlace, Mode::kOverlapped})
    for (const double mib : buckets_mib) {
      MpiSyncOptions so;
      so.bucket_bytes = static_cast<size_t>(mib * (1 << 20));
      so.overlap = mode == Mode::kOverlapped;
      MpiGradientSync sync(world.get(), so);
      const char* name = mode == Mode::kPacked    ? "packed"
                         : mode == Mode::kInPlace ? "in place"
                                                  : "in place, overlapped";
      print_row(fmt::format("{:g} ({})", mib, name),
                measure(net, optimizer, images, labels, &sync, mode != Mode::kPacked, o,
                        world.get()),
                true);
    }

  if (rank == 0) {
    std::cout << fmt::format(
        "ResNet-18 classifier: width {}, 1 channel, 3 classes, {} parameters ({:.1f} MiB of "
        "gradients); {} ranks, {} thread(s) each; per rank a batch of {} images of {}x{}; "
        "means over {} steps after {} warm-up steps. Step: the slowest rank's. All-reduce: the "
        "least over the ranks of the time inside average(), since the others also wait there "
        "for the last rank to arrive. The first row runs the same steps on every rank without "
        "exchanging gradients. Packed: gradients are copied into buckets and back; in place: "
        "they are views of one flat buffer (attach()), reduced where they are after backward; "
        "overlapped: in place, each bucket started by autograd hooks as soon as backward has "
        "written it (a 1 MiB first bucket), so the all-reduce column is only what backward did "
        "not hide.\n\n",
        o.width, parameters, parameters * 4.0 / (1 << 20), size, o.threads, o.batch, o.image,
        o.image, o.steps, o.warmup);
    std::cout << "| bucket MiB | buckets | step ms | all-reduce ms | all-reduce share % |\n"
              << "|---|---|---|---|---|\n";
    for (const std::string& line : lines) std::cout << line << "\n";
    std::cout.flush();
  }
  return kExitOk;
}

}  // namespace

int bench_allreduce(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  BenchOptions o;
  po::options_description options(
      "usage: mpirun -np 2 fracsweep bench allreduce [options]\n\n"
      "Mean step time (forward, backward, gradient all-reduce, Adam step) and mean time in\n"
      "the all-reduce of a data-parallel ResNet-18 classifier, per all-reduce bucket size,\n"
      "and of the same steps without an all-reduce. Rank 0 prints a Markdown table.\n\n"
      "options");
  options.add_options()("help,h", "print this help")
      ("width", po::value(&o.width)->default_value(o.width), "ResNet width (torchvision: 64)")
      ("image", po::value(&o.image)->default_value(o.image), "image side in pixels")
      ("batch", po::value(&o.batch)->default_value(o.batch), "samples per rank and step")
      ("steps", po::value(&o.steps)->default_value(o.steps), "timed steps per row")
      ("warmup", po::value(&o.warmup)->default_value(o.warmup), "untimed steps before each row")
      ("threads", po::value(&o.threads)->default_value(o.threads), "intra-op threads per rank")
      ("buckets", po::value(&o.buckets)->default_value(o.buckets),
       "bucket sizes to measure, in MiB, separated by commas");
  if (!parse_flags(args, options)) return kExitOk;
  CHECK_OR_THROW(core::ConfigError, o.width >= 1 && o.batch >= 1 && o.steps >= 1 &&
                                        o.warmup >= 0 && o.threads >= 1 && o.threads <= 256,
                 "--width, --batch and --steps must be >= 1, --warmup >= 0 and --threads in "
                 "1..256");
  // The stem and four stages halve the side five times in all.
  CHECK_OR_THROW(core::ConfigError, o.image >= 32, "--image ", o.image,
                 " is too small for ResNet-18's overall stride of 32: use at least 32");
  const std::vector<double> buckets_mib = parse_bucket_list(o.buckets);

  int initialised = 0;
  FRACSWEEP_MPI_CHECK(MPI_Initialized(&initialised));
  std::optional<MpiSession> session;
  if (!initialised) session.emplace();
  return run(o, buckets_mib);
}

}  // namespace fracsweep::launcher
