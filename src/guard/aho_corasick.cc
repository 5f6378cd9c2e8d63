#include "guard/aho_corasick.h"

#include <deque>

namespace confide::guard {

int32_t AhoCorasick::Child(int32_t node, uint8_t c) const {
  return delta_[static_cast<size_t>(node) * num_classes_ + class_of_[c]];
}

namespace {
constexpr int32_t kOutputBit = INT32_MIN;
}  // namespace

bool AhoCorasick::Add(std::string_view pattern, uint32_t id) {
  if (pattern.empty() || built_) return false;
  pending_.emplace_back(std::string(pattern), id);
  ++num_patterns_;
  return true;
}

void AhoCorasick::Build(bool ascii_case_insensitive) {
  if (built_) return;
  built_ = true;
  for (const auto& [p, id] : pending_) {
    for (unsigned char c : p) {
      if (class_of_[c] == 0) class_of_[c] = static_cast<uint16_t>(num_classes_++);
    }
  }
  if (ascii_case_insensitive) {
    for (int c = 'A'; c <= 'Z'; ++c) class_of_[c] = class_of_[c - 'A' + 'a'];
  }
  const size_t k = num_classes_;
  delta_.assign(k, -1);
  for (const auto& [p, id] : pending_) {
    int32_t node = 0;
    for (unsigned char c : p) {
      size_t idx = static_cast<size_t>(node) * k + class_of_[c];
      int32_t next = delta_[idx];
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        Node n;
        n.depth = nodes_[node].depth + 1;
        nodes_.push_back(n);
        delta_.resize(nodes_.size() * k, -1);
        delta_[idx] = next;
      }
      node = next;
    }
    outs_.push_back(Out{id, static_cast<uint32_t>(p.size()), nodes_[node].first_out});
    nodes_[node].first_out = static_cast<int32_t>(outs_.size() - 1);
  }
  pending_.clear();
  pending_.shrink_to_fit();
  // (failure links below; output bits are set once they are known)
  // Breadth-first: failure links, output links, and the goto function completed into a DFA.
  std::deque<int32_t> queue;
  for (size_t c = 0; c < k; ++c) {
    int32_t child = delta_[c];
    if (child < 0) {
      delta_[c] = 0;
    } else {
      nodes_[child].fail = 0;
      queue.push_back(child);
    }
  }
  while (!queue.empty()) {
    int32_t node = queue.front();
    queue.pop_front();
    int32_t fail = nodes_[node].fail;
    nodes_[node].out_link = nodes_[fail].first_out >= 0 ? fail : nodes_[fail].out_link;
    for (size_t c = 0; c < k; ++c) {
      size_t idx = static_cast<size_t>(node) * k + c;
      int32_t child = delta_[idx];
      int32_t via_fail = delta_[static_cast<size_t>(fail) * k + c];
      if (child < 0) {
        delta_[idx] = via_fail;
      } else {
        nodes_[child].fail = via_fail;
        queue.push_back(child);
      }
    }
  }
  for (int32_t& target : delta_) {
    const Node& t = nodes_[target];
    if (t.first_out >= 0 || t.out_link >= 0) target |= kOutputBit;
  }
  if (nodes_.size() <= 0x8000) {
    delta16_.resize(delta_.size());
    for (size_t i = 0; i < delta_.size(); ++i) {
      int32_t target = delta_[i];
      delta16_[i] = static_cast<uint16_t>((target & 0x7FFF) | (target < 0 ? 0x8000 : 0));
    }
    delta_.clear();
    delta_.shrink_to_fit();
  }
}

void AhoCorasick::Scan(
    std::string_view text,
    const std::function<bool(size_t end, size_t length, uint32_t id)>& on_match) const {
  // Transitions into a node that reports something carry kOutputBit (set in Build), so the
  // common case costs one table load per byte.
  ForEachMatch(text, on_match);
}

}  // namespace confide::guard
