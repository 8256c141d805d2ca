// See memory_transport.h.
#include "schedule/memory_transport.h"

#include <chrono>

#include "core/error.h"

namespace fracsweep::schedule {

struct MemoryTransport::Shared {
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::deque<Envelope> up;
  std::map<int, std::deque<Envelope>> down;  // per leader
  bool aborted = false;
};

class MemoryTransport::CoordinatorSide final : public CoordinatorEnd {
 public:
  explicit CoordinatorSide(std::shared_ptr<Shared> s) : s_(std::move(s)) {}
  std::optional<Envelope> try_receive() override {
    std::lock_guard lock(s_->mutex);
    if (s_->up.empty()) return std::nullopt;
    Envelope e = std::move(s_->up.front());
    s_->up.pop_front();
    return e;
  }
  void send(int leader, const Envelope& envelope) override {
    {
      std::lock_guard lock(s_->mutex);
      s_->down[leader].push_back(envelope);
    }
    s_->changed.notify_all();
  }
  void abort_all() noexcept override {
    {
      std::lock_guard lock(s_->mutex);
      s_->aborted = true;
    }
    s_->changed.notify_all();
  }

 private:
  std::shared_ptr<Shared> s_;
};

class MemoryTransport::LeaderSide final : public LeaderEnd {
 public:
  LeaderSide(std::shared_ptr<Shared> s, int rank) : s_(std::move(s)), rank_(rank) {}
  void send(const Envelope& envelope) override {
    std::lock_guard lock(s_->mutex);
    s_->up.push_back(envelope);
  }
  std::optional<Envelope> receive(MessageKind kind, double timeout_seconds) override {
    std::unique_lock lock(s_->mutex);
    std::deque<Envelope>& box = s_->down[rank_];
    std::optional<Envelope> found;
    const auto ready = [&] {
      if (s_->aborted) return true;
      for (auto it = box.begin(); it != box.end(); ++it) {
        if (it->kind != kind) continue;
        found = std::move(*it);
        box.erase(it);
        return true;
      }
      return false;
    };
    if (timeout_seconds > 0) {
      s_->changed.wait_for(lock, std::chrono::duration<double>(timeout_seconds), ready);
    } else {
      s_->changed.wait(lock, ready);
    }
    CHECK_OR_THROW(core::CommError, found || !s_->aborted, "the job coordinator aborted the run");
    return found;
  }

 private:
  std::shared_ptr<Shared> s_;
  int rank_;
};

MemoryTransport::MemoryTransport()
    : shared_(std::make_shared<Shared>()), coordinator_(std::make_unique<CoordinatorSide>(shared_)) {}

MemoryTransport::~MemoryTransport() = default;

CoordinatorEnd& MemoryTransport::coordinator() { return *coordinator_; }

LeaderEnd& MemoryTransport::leader(int leader) {
  std::lock_guard lock(leaders_mutex_);
  auto& side = leaders_[leader];
  if (!side) side = std::make_unique<LeaderSide>(shared_, leader);
  return *side;
}

bool MemoryTransport::aborted() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->aborted;
}

}  // namespace fracsweep::schedule
