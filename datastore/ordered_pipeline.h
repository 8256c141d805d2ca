// Generates items 0..total-1 on worker threads and hands them to one consumer
// in index order: how the phantom writers keep HDF5 on one thread while the
// rendering runs on many. The window bounds memory: a worker never runs more
// than `window` items ahead of the consumer.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace fracsweep::datastore {

template <typename T>
class OrderedPipeline {
 public:
  OrderedPipeline(std::function<T(int)> make, int total, int window)
      : make_(std::move(make)), total_(total), window_(window), slots_(static_cast<size_t>(total)) {}

  // A worker's loop: claims the next index and makes its item, until all are
  // claimed or stop() is called. A failure is kept for take() to rethrow.
  void work() {
    while (true) {
      int index;
      {
        std::unique_lock lock(mutex_);
        space_.wait(lock, [&] { return stop_ || next_ - taken_ < window_ || next_ >= total_; });
        if (stop_ || next_ >= total_) return;
        index = next_++;
      }
      std::optional<T> item;
      std::exception_ptr error;
      try {
        item = make_(index);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mutex_);
      if (error && !error_) error_ = error;
      slots_[static_cast<size_t>(index)] = std::move(item);
      ready_.notify_all();
    }
  }

  // The next item in index order; blocks until it is made (workers always make
  // progress or fail, so the wait ends). Rethrows a worker's exception.
  T take() {
    std::unique_lock lock(mutex_);
    auto& slot = slots_[static_cast<size_t>(taken_)];
    ready_.wait(lock, [&] { return slot.has_value() || error_; });
    if (error_) std::rethrow_exception(error_);
    T item = std::move(*slot);
    slot.reset();
    ++taken_;
    space_.notify_all();
    return item;
  }

  void stop() {
    std::lock_guard lock(mutex_);
    stop_ = true;
    space_.notify_all();
  }

 private:
  std::function<T(int)> make_;
  const int total_, window_;
  std::mutex mutex_;
  std::condition_variable space_, ready_;
  std::vector<std::optional<T>> slots_;
  int next_ = 0, taken_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

// Runs `threads` workers on a pipeline; stops and joins them on every exit path.
template <typename T>
class PipelineWorkers {
 public:
  PipelineWorkers(OrderedPipeline<T>& pipeline, int threads) : pipeline_(pipeline) {
    for (int t = 0; t < threads; ++t) workers_.emplace_back([&pipeline] { pipeline.work(); });
  }
  ~PipelineWorkers() {
    pipeline_.stop();
    for (auto& w : workers_) w.join();
  }
  PipelineWorkers(const PipelineWorkers&) = delete;
  PipelineWorkers& operator=(const PipelineWorkers&) = delete;

 private:
  OrderedPipeline<T>& pipeline_;
  std::vector<std::thread> workers_;
};

}  // namespace fracsweep::datastore
