// prefetch.h: one persistent worker thread that makes items 0..n-1 in order (an epoch's
// batches) into a bounded queue, so the next batches are built while the current one trains.
//
// next() returns make(0), make(1), ... in that order, whatever the timing: with a make() that
// depends only on its index (the trainer's batches: the item order and augmentation seeds are
// fixed before the epoch starts) the result is the same as calling make() in a loop. An
// exception thrown by make(k) is rethrown by the k-th next() (the items before it are delivered
// first). The destructor stops the worker and joins it, also when the consumer leaves early (an
// exception in the training step, a capped epoch): the worker waits only on the queue, so it
// finishes its current make() and exits.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace folia::train {

template <class T>
class prefetcher {
  public:
    // capacity: items made ahead of the consumer (>= 1; 2 keeps one ready while one waits).
    prefetcher(int64_t n, std::function<T(int64_t)> make, size_t capacity = 2)
        : n_(n), capacity_(capacity < 1 ? 1 : capacity), make_(std::move(make)) {
        if (n_ > 0) worker_ = std::thread([this] { run(); });
    }
    ~prefetcher() {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        if (worker_.joinable()) worker_.join();
    }
    prefetcher(const prefetcher &) = delete;
    prefetcher &operator=(const prefetcher &) = delete;

    T next() {
        std::unique_lock<std::mutex> lk(mu_);
        if (taken_ >= n_) throw std::logic_error("prefetcher: all items were taken");
        cv_.wait(lk, [this] { return !queue_.empty() || error_; });
        if (queue_.empty()) std::rethrow_exception(error_);
        T v = std::move(queue_.front());
        queue_.pop_front();
        ++taken_;
        lk.unlock();
        cv_.notify_all();  // room for the worker
        return v;
    }

  private:
    void run() {
        for (int64_t k = 0; k < n_; ++k) {
            {
                std::unique_lock<std::mutex> lk(mu_);
                cv_.wait(lk, [this] { return stop_ || queue_.size() < capacity_; });
                if (stop_) return;
            }
            try {
                T v = make_(k);  // outside the lock: the consumer takes ready items meanwhile
                std::lock_guard<std::mutex> lk(mu_);
                queue_.push_back(std::move(v));
            } catch (...) {
                std::lock_guard<std::mutex> lk(mu_);
                error_ = std::current_exception();
                cv_.notify_all();
                return;
            }
            cv_.notify_all();
        }
    }

    const int64_t n_;
    const size_t capacity_;
    std::function<T(int64_t)> make_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<T> queue_;
    std::exception_ptr error_;
    bool stop_ = false;
    int64_t taken_ = 0;
    std::thread worker_;  // last: started after every other member exists
};

}  // namespace folia::train
