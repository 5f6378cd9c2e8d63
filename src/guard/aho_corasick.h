// confide::guard Aho-Corasick multi-pattern matcher over bytes: build once, scan in time linear
// in the text plus the number of matches reported.
#ifndef CONFIDE_GUARD_AHO_CORASICK_H_
#define CONFIDE_GUARD_AHO_CORASICK_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace confide::guard {

// AhoCorasick matches a fixed set of byte patterns. Immutable after Build(); Scan is const and
// safe to call from several threads.
class AhoCorasick {
 public:
  // Add registers `pattern` (non-empty) with caller-chosen `id`; returns false if empty. Call
  // before Build().
  bool Add(std::string_view pattern, uint32_t id);

  // Build computes failure and output links. Call once after the last Add(). With
  // `ascii_case_insensitive`, upper-case ASCII letters in the scanned text match the lower-case
  // letters of the patterns (add patterns in lower case).
  void Build(bool ascii_case_insensitive = false);

  // Scan calls on_match(end, length, id) for every occurrence of every pattern in `text`, with
  // `end` the exclusive end offset. Stops early if on_match returns false.
  void Scan(std::string_view text,
            const std::function<bool(size_t end, size_t length, uint32_t id)>& on_match) const;

  // ForEachMatch is Scan with the callback inlined (no std::function per match): the hot loop
  // is one table load per byte.
  template <typename F>
  void ForEachMatch(std::string_view text, F&& on_match) const {
    if (!built_) return;
    const size_t k = num_classes_;
    if (!delta16_.empty()) {
      // Compact table: half the cache footprint of the 32-bit one.
      const uint16_t* delta = delta16_.data();
      uint32_t node = 0;
      for (size_t i = 0; i < text.size(); ++i) {
        uint32_t next = delta[node * k + class_of_[static_cast<uint8_t>(text[i])]];
        node = next & 0x7FFF;
        if ((next & 0x8000) == 0) continue;
        if (!ReportAt(static_cast<int32_t>(node), i, on_match)) return;
      }
      return;
    }
    const int32_t* delta = delta_.data();
    int32_t node = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      int32_t next =
          delta[static_cast<size_t>(node) * k + class_of_[static_cast<uint8_t>(text[i])]];
      if (next >= 0) {
        node = next;
        continue;
      }
      node = next & INT32_MAX;
      if (!ReportAt(node, i, on_match)) return;
    }
  }

  // num_patterns returns how many patterns were added.
  size_t num_patterns() const { return num_patterns_; }

 private:
  struct Node {
    int32_t fail = 0;
    int32_t out_link = -1;   // next node on the failure chain that has outputs
    int32_t first_out = -1;  // index into outs_
    uint32_t depth = 0;
  };
  struct Out {
    uint32_t id;
    uint32_t length;
    int32_t next;
  };
  int32_t Child(int32_t node, uint8_t c) const;
  // ReportAt calls on_match for every pattern that ends at `node` (text offset i); false if the
  // callback asked to stop.
  template <typename F>
  bool ReportAt(int32_t node, size_t i, F& on_match) const {
    for (int32_t n = nodes_[node].first_out >= 0 ? node : nodes_[node].out_link; n > 0;
         n = nodes_[n].out_link) {
      for (int32_t o = nodes_[n].first_out; o >= 0; o = outs_[o].next) {
        if (!on_match(i + 1, size_t{outs_[o].length}, outs_[o].id)) return false;
      }
    }
    return true;
  }

  std::vector<Node> nodes_{Node{}};
  // Patterns are kept as added until Build(), which maps bytes to classes (class 0: any byte no
  // pattern uses) and fills a dense DFA table of num_classes_ entries per node. For 10,000
  // custom words of 10 letters that is about 100k nodes x ~40 classes x 4 bytes = 16 MB.
  std::vector<std::pair<std::string, uint32_t>> pending_;
  uint16_t class_of_[256] = {};
  size_t num_classes_ = 1;
  std::vector<int32_t> delta_;
  // The same table with 15-bit node ids and the output flag in bit 15, used when the automaton
  // has at most 32,768 nodes (delta_ is then released).
  std::vector<uint16_t> delta16_;
  std::vector<Out> outs_;
  size_t num_patterns_ = 0;
  bool built_ = false;
};

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_AHO_CORASICK_H_
