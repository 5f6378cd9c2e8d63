#include "gateway/metrics.h"

#include <charconv>
#include <cmath>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace confide::gateway {
namespace {

// FormatNumber renders a sample value: integers plainly, others in their shortest round-trip
// form; non-finite values as Prometheus spells them.
std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

//= https://github.com/prometheus/docs/blob/main/content/docs/instrumenting/exposition_formats.md
//# label_value can be any sequence of UTF-8 characters, but the backslash (\), double-quote ("),
//# and line feed (\n) characters have to be escaped as \\, \", and \n, respectively.
void AppendLabelValue(std::string_view v, std::string& out) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

//# HELP lines may contain any sequence of UTF-8 characters (after the metric name), but the
//# backslash and the line feed characters have to be escaped as \\ and \n, respectively.
std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// AppendLabels appends {a="x",b="y"} (plus an optional trailing le label); nothing when empty.
void AppendLabels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                  const std::string* le, std::string& out) {
  if (names.empty() && le == nullptr) return;
  out += '{';
  bool first = true;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out += ',';
    first = false;
    absl::StrAppend(&out, names[i], "=\"");
    AppendLabelValue(values[i], out);
    out += '"';
  }
  if (le != nullptr) {
    if (!first) out += ',';
    absl::StrAppend(&out, "le=\"", *le, "\"");
  }
  out += '}';
}

const char* TypeName(MetricFamily::Type t) {
  switch (t) {
    case MetricFamily::Type::kCounter:
      return "counter";
    case MetricFamily::Type::kGauge:
      return "gauge";
    case MetricFamily::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string StatusClass(int status) {
  if (status < 100 || status > 599) return "other";
  return absl::StrCat(status / 100, "xx");
}

MetricFamily::MetricFamily(std::string name, std::string help, Type type,
                           std::vector<std::string> labels, std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      labels_(std::move(labels)),
      bounds_(std::move(buckets)) {
  // A family without labels has exactly one series, present from the start (a gauge that was
  // never set reads 0 rather than being absent).
  if (labels_.empty()) Find({});
}

MetricFamily::Series* MetricFamily::Find(const std::vector<std::string>& label_values) {
  if (label_values.size() != labels_.size()) return nullptr;
  auto [it, inserted] = series_.try_emplace(label_values);
  if (inserted && type_ == Type::kHistogram) it->second.buckets.assign(bounds_.size(), 0);
  return &it->second;
}

void MetricFamily::Add(const std::vector<std::string>& label_values, double delta) {
  if (type_ == Type::kHistogram) return;
  if (type_ == Type::kCounter && !(delta >= 0)) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (Series* s = Find(label_values)) s->value += delta;
}

void MetricFamily::Set(const std::vector<std::string>& label_values, double value) {
  if (type_ != Type::kGauge) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (Series* s = Find(label_values)) s->value = value;
}

void MetricFamily::Observe(const std::vector<std::string>& label_values, double value) {
  if (type_ != Type::kHistogram) return;
  std::lock_guard<std::mutex> lock(mu_);
  Series* s = Find(label_values);
  if (s == nullptr) return;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (value <= bounds_[i]) {
      ++s->buckets[i];
      break;
    }
  }
  ++s->count;
  s->sum += value;
}

double MetricFamily::Value(const std::vector<std::string>& label_values) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(label_values);
  if (it == series_.end()) return 0;
  return type_ == Type::kHistogram ? static_cast<double>(it->second.count) : it->second.value;
}

void MetricFamily::AppendText(std::string& out) const {
  absl::StrAppend(&out, "# HELP ", name_, " ", EscapeHelp(help_), "\n# TYPE ", name_, " ",
                  TypeName(type_), "\n");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, s] : series_) {
    if (type_ != Type::kHistogram) {
      out += name_;
      AppendLabels(labels_, values, nullptr, out);
      absl::StrAppend(&out, " ", FormatNumber(s.value), "\n");
      continue;
    }
    //# The sample values of a histogram's buckets are cumulative: each counts the samples
    //# less than or equal to its upper bound `le`, the last bucket having le="+Inf".
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += i < bounds_.size() ? s.buckets[i] : 0;
      std::string le = i < bounds_.size() ? FormatNumber(bounds_[i]) : "+Inf";
      const uint64_t v = i < bounds_.size() ? cumulative : s.count;
      absl::StrAppend(&out, name_, "_bucket");
      AppendLabels(labels_, values, &le, out);
      absl::StrAppend(&out, " ", v, "\n");
    }
    absl::StrAppend(&out, name_, "_sum");
    AppendLabels(labels_, values, nullptr, out);
    absl::StrAppend(&out, " ", FormatNumber(s.sum), "\n", name_, "_count");
    AppendLabels(labels_, values, nullptr, out);
    absl::StrAppend(&out, " ", s.count, "\n");
  }
}

MetricFamily* Registry::Counter(std::string name, std::string help,
                                std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mu_);
  families_.push_back(std::make_unique<MetricFamily>(std::move(name), std::move(help),
                                                     MetricFamily::Type::kCounter,
                                                     std::move(labels), std::vector<double>{}));
  return families_.back().get();
}

MetricFamily* Registry::Gauge(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mu_);
  families_.push_back(std::make_unique<MetricFamily>(std::move(name), std::move(help),
                                                     MetricFamily::Type::kGauge, std::move(labels),
                                                     std::vector<double>{}));
  return families_.back().get();
}

MetricFamily* Registry::Histogram(std::string name, std::string help,
                                  std::vector<std::string> labels, std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mu_);
  families_.push_back(std::make_unique<MetricFamily>(std::move(name), std::move(help),
                                                     MetricFamily::Type::kHistogram,
                                                     std::move(labels), std::move(buckets)));
  return families_.back().get();
}

std::string Registry::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& f : families_) f->AppendText(out);
  return out;
}

GatewayMetrics::GatewayMetrics() {
  requests = registry.Counter("confide_gateway_requests_total",
                              "Requests answered, by endpoint and HTTP status class.",
                              {"endpoint", "code"});
  latency = registry.Histogram(
      "confide_gateway_request_duration_seconds",
      "Time from request to the end of the response (streams: to the last byte).", {"endpoint"},
      std::vector<double>(std::begin(kLatencyBucketsSeconds), std::end(kLatencyBucketsSeconds)));
  rejected =
      registry.Counter("confide_gateway_rejected_total",
                       "Requests refused before reaching an enclave, by reason.", {"reason"});
  upstream_errors =
      registry.Counter("confide_gateway_upstream_errors_total",
                       "Exchanges with an enclave that failed, by endpoint.", {"endpoint"});
  inflight = registry.Gauge("confide_gateway_inflight_requests",
                            "Forwarded requests holding an admission slot.", {});
  queue_depth =
      registry.Gauge("confide_gateway_queue_depth", "Requests waiting for an admission slot.", {});
  enclave_up =
      registry.Gauge("confide_gateway_enclave_healthy",
                     "1 when the enclave at this CID is healthy and routable, else 0.", {"cid"});
  enclaves = registry.Gauge("confide_gateway_enclaves_healthy",
                            "Number of healthy, routable enclaves.", {});
  bytes_relayed =
      registry.Counter("confide_gateway_relayed_bytes_total",
                       "OHTTP bytes relayed, by direction (request, response).", {"direction"});
}

void GatewayMetrics::RecordRequest(std::string_view endpoint, int status, absl::Duration duration) {
  requests->Add({std::string(endpoint), StatusClass(status)}, 1);
  latency->Observe({std::string(endpoint)}, absl::ToDoubleSeconds(duration));
}

}  // namespace confide::gateway
