#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtasts::agent {

/// A map from domain name to `State`, sorted by name, whose copies share their entries: copying
/// it copies one pointer per domain, not the states, and changing a copy's entry first copies
/// that one entry (copy on write). So the snapshots the daemon publishes cost a pointer per
/// domain, and only what a check changed is new (README "Memory"). Value semantics: a change
/// through one map is never seen through another. Not thread-safe by itself: the owner guards
/// the map it changes; published copies are const and read freely.
template <typename State>
class SharedEntryMap {
 public:
  struct Entry {
    std::string name;
    State state;
  };

  /// Iterates the entries in name order; `[name, state]` bindings work as on a std::map.
  // The standard containers' names (const_iterator, find, contains, erase, clear), so code
  // written for std::map reads the same.
  // NOLINTNEXTLINE(readability-identifier-naming)
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Entry;
    using difference_type = std::ptrdiff_t;
    using pointer = const Entry*;
    using reference = const Entry&;

    const_iterator() = default;
    reference operator*() const { return **it_; }
    pointer operator->() const { return it_->get(); }
    const_iterator& operator++() {
      ++it_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++it_;
      return before;
    }
    friend bool operator==(const const_iterator&, const const_iterator&) = default;

   private:
    friend class SharedEntryMap;
    using Base = typename std::vector<std::shared_ptr<Entry>>::const_iterator;
    explicit const_iterator(Base it) : it_(it) {}
    Base it_;
  };

  SharedEntryMap() = default;
  explicit SharedEntryMap(std::map<std::string, State> states) {
    entries_.reserve(states.size());
    for (auto& [name, state] : states) {
      entries_.push_back(std::make_shared<Entry>(Entry{name, std::move(state)}));
    }
  }

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const_iterator begin() const { return const_iterator(entries_.begin()); }
  const_iterator end() const { return const_iterator(entries_.end()); }

  // NOLINTNEXTLINE(readability-identifier-naming)
  const_iterator find(std::string_view name) const {
    return const_iterator(Locate(entries_, name));
  }
  // NOLINTNEXTLINE(readability-identifier-naming)
  bool contains(std::string_view name) const { return find(name) != end(); }
  /// The state of `name`; the name must be present (std::out_of_range otherwise: a bug).
  const State& at(std::string_view name) const {
    auto it = find(name);
    if (it == end()) throw std::out_of_range("no entry for " + std::string(name));
    return it->state;
  }

  /// The state of `name` to change, after copying it if another map shares it; nullptr when
  /// absent.
  State* Mutable(std::string_view name) {
    auto it = Locate(entries_, name);
    return it == entries_.end() ? nullptr : &Own(*it).state;
  }
  /// As std::map: the state of `name` to change, inserted (default) when absent.
  State& operator[](std::string_view name) {
    auto it = LowerBound(entries_, name);
    if (it == entries_.end() || (*it)->name != name) {
      it = entries_.insert(it, std::make_shared<Entry>(Entry{std::string(name), State{}}));
    }
    return Own(*it).state;
  }
  // NOLINTNEXTLINE(readability-identifier-naming)
  bool erase(std::string_view name) {
    auto it = Locate(entries_, name);
    if (it == entries_.end()) return false;
    entries_.erase(it);
    return true;
  }
  // NOLINTNEXTLINE(readability-identifier-naming)
  void clear() { entries_.clear(); }

  /// Keeps exactly `names` (any order, repeats ignored): an entry already present is kept
  /// (shared, not copied), a new name gets a default state, every other entry goes.
  void Retain(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::vector<std::shared_ptr<Entry>> kept;
    kept.reserve(names.size());
    auto old = entries_.begin();
    for (auto& name : names) {
      while (old != entries_.end() && (*old)->name < name) ++old;
      if (old != entries_.end() && (*old)->name == name) {
        kept.push_back(*old);
      } else {
        kept.push_back(std::make_shared<Entry>(Entry{std::move(name), State{}}));
      }
    }
    entries_ = std::move(kept);
  }

 private:
  using Entries = std::vector<std::shared_ptr<Entry>>;

  // The first entry not before `name` in `entries` (this map's, const or not).
  template <typename Vector>
  static auto LowerBound(Vector& entries, std::string_view name) {
    return std::lower_bound(
        entries.begin(), entries.end(), name,
        [](const std::shared_ptr<Entry>& e, std::string_view n) { return e->name < n; });
  }
  // The entry named `name`, or entries.end().
  template <typename Vector>
  static auto Locate(Vector& entries, std::string_view name) {
    auto it = LowerBound(entries, name);
    return it != entries.end() && (*it)->name == name ? it : entries.end();
  }
  // The entry, copied first when another map holds it too. A count of 1 cannot be raced: every
  // other holder would be a copy of this map, made by whoever guards it.
  Entry& Own(std::shared_ptr<Entry>& entry) {
    if (entry.use_count() > 1) entry = std::make_shared<Entry>(*entry);
    return *entry;
  }

  Entries entries_;
};

}  // namespace mtasts::agent
