// confide::gateway metrics: a small Prometheus registry (text exposition format 0.0.4).
//
// Counters, gauges and histograms with fixed label names. Label values are chosen by the gateway
// from closed sets (endpoint names, status classes such as "2xx", enclave CIDs): a request's
// path, body, headers or OHTTP key id never becomes a label, so /metrics cannot carry content.
// Every family is created before the first Render and lives as long as the registry; the
// objects it hands out are thread-safe.
#ifndef CONFIDE_GATEWAY_METRICS_H_
#define CONFIDE_GATEWAY_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace confide::gateway {

// kLatencyBucketsSeconds are the upper bounds of the gateway's latency histogram (seconds; +Inf
// is implicit): from a cached health answer up to a long streamed generation.
inline constexpr double kLatencyBucketsSeconds[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

// StatusClass returns "1xx".."5xx" for an HTTP status (anything else is "other").
std::string StatusClass(int status);

// MetricFamily is one named metric with its label names. Not copyable.
class MetricFamily {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  MetricFamily(std::string name, std::string help, Type type, std::vector<std::string> labels,
               std::vector<double> buckets);
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // Add adds `delta` to the counter or gauge with `label_values` (one per label name; a
  // mismatch in count is a programming error and is ignored). Counters ignore negative deltas.
  void Add(const std::vector<std::string>& label_values, double delta);
  // Set sets a gauge.
  void Set(const std::vector<std::string>& label_values, double value);
  // Observe records one sample in a histogram.
  void Observe(const std::vector<std::string>& label_values, double value);
  // Value returns the current counter/gauge value, or a histogram's sample count (0 when the
  // series does not exist). For tests.
  double Value(const std::vector<std::string>& label_values) const;
  // AppendText appends the family in Prometheus text format (# HELP, # TYPE, then each series in
  // label order; histograms as _bucket{le=...} cumulative counts, _sum and _count).
  void AppendText(std::string& out) const;

 private:
  struct Series {
    double value = 0;               // counter / gauge
    std::vector<uint64_t> buckets;  // histogram: per-bucket (non-cumulative) counts
    uint64_t count = 0;
    double sum = 0;
  };
  Series* Find(const std::vector<std::string>& label_values);  // requires mu_

  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, Series> series_;
};

// Registry owns metric families and renders them in registration order. Thread-safe.
class Registry {
 public:
  // Counter / Gauge / Histogram register a family (names must be unique; the returned pointer
  // lives as long as the registry).
  MetricFamily* Counter(std::string name, std::string help, std::vector<std::string> labels);
  MetricFamily* Gauge(std::string name, std::string help, std::vector<std::string> labels);
  MetricFamily* Histogram(std::string name, std::string help, std::vector<std::string> labels,
                          std::vector<double> buckets);
  // Render returns the text exposition of every family.
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<MetricFamily>> families_;
};

// GatewayMetrics are the gateway's families (names in docs/gateway.md).
struct GatewayMetrics {
  GatewayMetrics();

  // RecordRequest counts one finished request on `endpoint` (a fixed name such as "ohttp") with
  // its HTTP status, and its duration in the latency histogram.
  void RecordRequest(std::string_view endpoint, int status, absl::Duration duration);

  Registry registry;
  MetricFamily* requests;         // confide_gateway_requests_total{endpoint,code}
  MetricFamily* latency;          // confide_gateway_request_duration_seconds{endpoint}
  MetricFamily* rejected;         // confide_gateway_rejected_total{reason}
  MetricFamily* upstream_errors;  // confide_gateway_upstream_errors_total{endpoint}
  MetricFamily* inflight;         // confide_gateway_inflight_requests
  MetricFamily* queue_depth;      // confide_gateway_queue_depth
  MetricFamily* enclave_up;       // confide_gateway_enclave_healthy{cid}
  MetricFamily* enclaves;         // confide_gateway_enclaves_healthy
  MetricFamily* bytes_relayed;    // confide_gateway_relayed_bytes_total{direction}
};

}  // namespace confide::gateway

#endif  // CONFIDE_GATEWAY_METRICS_H_
