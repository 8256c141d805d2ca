// See mpi_sync.h.
#include "launcher/mpi_sync.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "launcher/mpi.h"

namespace fracsweep::launcher {

// Note [Bucket order]
// ~~~~~~~~~~~~~~~~~~~
// Packed (no attach()): the gradients are laid end to end, in the order given,
// in one staging buffer, which is cut into buckets of bucket_floats floats (the
// last one may be shorter); a tensor may straddle two buckets.
// Attached: the parameters' gradients live in one flat buffer in reverse order,
// since backward writes the last layers' gradients first, and buckets hold
// whole gradients: a small first one (first_bucket_floats), then up to
// bucket_floats each (a larger gradient gets a bucket of its own). A bucket is
// ready when backward has written each of its gradients (a hook on each
// parameter's gradient accumulator counts them down).
// Either way every rank passes the same tensors, so every rank cuts the same
// buckets, and each rank starts bucket k only after bucket k - 1 (a ready
// bucket waits for its predecessors): collectives are issued in the same
// order everywhere, which MPI requires of non-blocking collectives on one
// communicator. A bucket whose gradients backward never wrote (parameters this
// step did not use) is started by average(), still in order.
//
// Open MPI has no progress thread for non-blocking collectives: a started
// MPI_Iallreduce advances only inside MPI calls. Packing, and each hook, test
// the oldest pending bucket, which lets the earlier reductions move while
// later buckets are still being filled.

namespace {

using Clock = std::chrono::steady_clock;

// 11689512 -> "11,689,512", so that large counts are read at a glance.
std::string with_commas(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%016llx", static_cast<unsigned long long>(value));
  return text;
}

// One rank's row of check_agreement's all-gather. Plain bytes: the ranks of
// a job run the same build on the same kind of machine.
struct AgreementRow {
  int64_t parameters;
  uint64_t shapes_hash;
  uint64_t config_hash;
  int32_t world_rank;
  char host[MPI_MAX_PROCESSOR_NAME];  // NUL-terminated, truncated if longer
};

}  // namespace

MpiGradientSync::MpiGradientSync(MPI_Comm group, const MpiSyncOptions& options) : group_(group) {
  CHECK_OR_THROW(core::InternalError, group != MPI_COMM_NULL,
                 "MpiGradientSync needs a group communicator, but this rank was given "
                 "MPI_COMM_NULL (it belongs to no group): build it only on ranks of a group");
  CHECK_OR_THROW(core::ConfigError, options.bucket_bytes >= sizeof(float),
                 "all-reduce bucket size ", options.bucket_bytes,
                 " bytes is smaller than one float (4 bytes): use at least 4 bytes (e.g. 8 MiB)");
  bucket_floats_ = options.bucket_bytes / sizeof(float);
  first_bucket_floats_ =
      std::clamp<size_t>(options.first_bucket_bytes / sizeof(float), 1, bucket_floats_);
  overlap_ = options.overlap;
  // MPI counts are ints.
  CHECK_OR_THROW(core::ConfigError, bucket_floats_ <= static_cast<size_t>(INT_MAX),
                 "all-reduce bucket size ", options.bucket_bytes, " bytes holds more than ",
                 INT_MAX, " floats, the most one MPI call can reduce: use a smaller bucket");
  FRACSWEEP_MPI_CHECK(MPI_Comm_size(group_, &size_));
  FRACSWEEP_MPI_CHECK(MPI_Comm_rank(group_, &rank_));
  FRACSWEEP_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &world_rank_));
  host_ = mpi_host_name();
}

void MpiGradientSync::check_tensors(const std::vector<torch::Tensor>& grads) const {
  for (size_t i = 0; i < grads.size(); ++i) {
    const torch::Tensor& t = grads[i];
    const auto where = [&] {
      return core::str_cat("MpiGradientSync::average on rank ", world_rank_, " (host ", host_,
                           "): gradient ", i, " of ", grads.size());
    };
    CHECK_OR_THROW(core::InternalError, t.defined(), where(),
                   " is undefined; pass a zero tensor for a parameter that received no "
                   "gradient, so that every rank sends the same layout");
    CHECK_OR_THROW(core::InternalError, t.device().is_cpu(), where(), " (shape ", t.sizes(),
                   ") is on ", t.device(), "; this backend averages CPU tensors: use the NCCL "
                   "backend for CUDA tensors");
    CHECK_OR_THROW(core::InternalError, t.scalar_type() == torch::kFloat, where(), " (shape ",
                   t.sizes(), ") is ", t.scalar_type(),
                   "; this backend averages float32 tensors: keep gradients in float32");
    CHECK_OR_THROW(core::InternalError, t.is_contiguous(), where(), " (shape ", t.sizes(),
                   ") is not contiguous; pass the parameters' own gradients (param.grad()), "
                   "not views of them, so that the average lands where the optimizer reads it");
  }
}

void MpiGradientSync::average(std::vector<torch::Tensor>& grads) {
  const auto start = Clock::now();
  check_tensors(grads);
  size_t total = 0;
  for (const torch::Tensor& t : grads) total += static_cast<size_t>(t.numel());
  if (size_ > 1 && total > 0 && flat_.holds(grads)) {
    reduce_attached();
  } else if (size_ > 1 && total > 0) {
    reduce_buckets(grads, total);
  } else {
    last_bucket_count_ = 0;
  }
  average_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
  ++average_calls_;
}

void MpiGradientSync::reduce_buckets(std::vector<torch::Tensor>& grads, size_t total) {
  counts_.clear();
  for (const torch::Tensor& t : grads) counts_.push_back(static_cast<size_t>(t.numel()));
  // The same gradients every step: plan once. See Note [Bucket order].
  if (packed_.segments.empty() || counts_ != packed_counts_) {
    packed_ = schedule::plan_packed(counts_, bucket_floats_);
    packed_counts_ = counts_;
  }
  if (staging_.size() < total) staging_.resize(total);
  requests_.assign(packed_.buckets, MPI_REQUEST_NULL);
  float* staging = staging_.data();

  // Pack, starting each bucket as soon as its last run is in.
  size_t pos = 0;     // floats packed so far
  size_t oldest = 0;  // the first bucket not known to be reduced
  for (const schedule::PackedSegment& s : packed_.segments) {
    std::memcpy(staging + pos, grads[s.tensor].data_ptr<float>() + s.tensor_offset,
                s.count * sizeof(float));
    pos += s.count;
    if (!s.ends_bucket) continue;
    const size_t first = s.bucket * bucket_floats_;
    FRACSWEEP_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, staging + first,
                                       static_cast<int>(pos - first), MPI_FLOAT, MPI_SUM, group_,
                                       &requests_[s.bucket]));
    for (int done = 1; done && oldest < s.bucket;) {
      FRACSWEEP_MPI_CHECK(MPI_Test(&requests_[oldest], &done, MPI_STATUS_IGNORE));
      if (done) ++oldest;
    }
  }
  INTERNAL_ASSERT(pos == total);

  // Wait in order and copy each bucket back while the later ones are still reducing.
  const float scale = 1.0f / static_cast<float>(size_);
  size_t waited = 0;
  pos = 0;
  for (const schedule::PackedSegment& s : packed_.segments) {
    while (waited <= s.bucket) FRACSWEEP_MPI_CHECK(MPI_Wait(&requests_[waited++], MPI_STATUS_IGNORE));
    float* dst = grads[s.tensor].data_ptr<float>() + s.tensor_offset;
    for (size_t j = 0; j < s.count; ++j) dst[j] = staging[pos + j] * scale;
    pos += s.count;
  }
  last_bucket_count_ = packed_.buckets;
}

uint32_t MpiGradientSync::any(uint32_t bits) {
  if (size_ == 1) return bits;
  uint32_t out = 0;
  FRACSWEEP_MPI_CHECK(MPI_Allreduce(&bits, &out, 1, MPI_UINT32_T, MPI_BOR, group_));
  return out;
}

void MpiGradientSync::check_agreement(const trainer::ModelSignature& mine) {
  AgreementRow row{};
  row.parameters = mine.parameters;
  row.shapes_hash = mine.shapes_hash;
  row.config_hash = mine.config_hash;
  row.world_rank = world_rank_;
  std::strncpy(row.host, host_.c_str(), sizeof(row.host) - 1);
  std::vector<AgreementRow> rows(static_cast<size_t>(size_));
  FRACSWEEP_MPI_CHECK(MPI_Allgather(&row, sizeof(AgreementRow), MPI_BYTE, rows.data(),
                                    sizeof(AgreementRow), MPI_BYTE, group_));

  const AgreementRow& first = rows[0];
  for (size_t r = 1; r < rows.size(); ++r) {
    const AgreementRow& other = rows[r];
    std::string differs;
    const auto add = [&differs](const std::string& what) {
      differs += (differs.empty() ? "" : "; ") + what;
    };
    if (other.parameters != first.parameters)
      add(core::str_cat(with_commas(other.parameters), " parameters vs ",
                        with_commas(first.parameters)));
    if (other.shapes_hash != first.shapes_hash)
      add(core::str_cat("parameter names or shapes differ (shapes hash ", hex(other.shapes_hash),
                        " vs ", hex(first.shapes_hash), ")"));
    if (other.config_hash != first.config_hash)
      add(core::str_cat("the job config differs (config hash ", hex(other.config_hash), " vs ",
                        hex(first.config_hash), ")"));
    if (differs.empty()) continue;
    throw core::ConfigError(core::str_cat(
        "rank ", other.world_rank, " (host ", other.host, ", rank ", r, " of its group of ",
        size_, ") differs from rank ", first.world_rank, " (host ", first.host,
        ", its group's rank 0): ", differs,
        "; check that every rank runs the same fracsweep build and sweep file"));
  }
}

void MpiGradientSync::attach(std::vector<torch::Tensor>& params) {
  for (const torch::Tensor& p : params)
    CHECK_OR_THROW(core::ConfigError, p.numel() <= INT_MAX, "a parameter of ", p.numel(),
                   " floats is larger than one MPI call can reduce");
  // Each bucket's reduction starts once backward has written it; each start
  // also moves the earlier ones along (Open MPI has no progress thread).
  flat_.attach(params, torch::kFloat, first_bucket_floats_, bucket_floats_, overlap_ && size_ > 1,
               [this](size_t bucket) {
                 start_bucket(bucket);
                 finish_ready_buckets();
               });
  reduced_ = 0;
  requests_.assign(flat_.plan().buckets.size(), MPI_REQUEST_NULL);
}

void MpiGradientSync::start_bucket(size_t bucket) {
  FRACSWEEP_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, flat_.bucket_data(bucket),
                                     static_cast<int>(flat_.plan().buckets[bucket].count),
                                     MPI_FLOAT, MPI_SUM, group_, &requests_[bucket]));
}

// Tests the oldest started bucket (which also moves the later ones along) and
// scales every bucket that is done.
void MpiGradientSync::finish_ready_buckets() {
  for (int done = 1; done && reduced_ < flat_.started();) {
    FRACSWEEP_MPI_CHECK(MPI_Test(&requests_[reduced_], &done, MPI_STATUS_IGNORE));
    if (done) scale_bucket(reduced_++);
  }
}

void MpiGradientSync::scale_bucket(size_t bucket) {
  const float scale = 1.0f / static_cast<float>(size_);
  float* data = flat_.bucket_data(bucket);
  for (size_t j = 0; j < flat_.plan().buckets[bucket].count; ++j) data[j] *= scale;
}

void MpiGradientSync::reduce_attached() {
  const size_t buckets = flat_.plan().buckets.size();
  last_early_buckets_ = flat_.start_rest();
  for (; reduced_ < buckets; ++reduced_) {
    FRACSWEEP_MPI_CHECK(MPI_Wait(&requests_[reduced_], MPI_STATUS_IGNORE));
    scale_bucket(reduced_);
  }
  last_bucket_count_ = buckets;
  flat_.next_step();
  reduced_ = 0;
}

}  // namespace fracsweep::launcher
