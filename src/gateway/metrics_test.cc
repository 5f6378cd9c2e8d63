// The Prometheus text exposition: HELP/TYPE lines, label escaping, cumulative buckets.
#include "gateway/metrics.h"

#include <string>

#include "gtest/gtest.h"

namespace confide::gateway {
namespace {

TEST(MetricsTest, CounterWithLabelsRendersInTextFormat) {
  Registry r;
  MetricFamily* c = r.Counter("x_requests_total", "Requests.", {"endpoint", "code"});
  c->Add({"ohttp", "2xx"}, 1);
  c->Add({"ohttp", "2xx"}, 2);
  c->Add({"attestation", "4xx"}, 1);
  c->Add({"ohttp", "2xx"}, -5);  // counters never go down
  EXPECT_EQ(r.Render(),
            "# HELP x_requests_total Requests.\n"
            "# TYPE x_requests_total counter\n"
            "x_requests_total{endpoint=\"attestation\",code=\"4xx\"} 1\n"
            "x_requests_total{endpoint=\"ohttp\",code=\"2xx\"} 3\n");
  EXPECT_EQ(c->Value({"ohttp", "2xx"}), 3);
}

TEST(MetricsTest, UnlabelledGaugeIsPresentFromTheStart) {
  Registry r;
  MetricFamily* g = r.Gauge("x_queue_depth", "Waiting.", {});
  EXPECT_EQ(r.Render(),
            "# HELP x_queue_depth Waiting.\n# TYPE x_queue_depth gauge\nx_queue_depth 0\n");
  g->Set({}, 7);
  g->Add({}, -2);
  EXPECT_EQ(g->Value({}), 5);
  EXPECT_NE(r.Render().find("x_queue_depth 5\n"), std::string::npos);
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Registry r;
  MetricFamily* g = r.Gauge("x_g", "a \\ b\nc", {"l"});
  g->Set({"q\"b\\n\nz"}, 1.5);
  EXPECT_EQ(r.Render(),
            "# HELP x_g a \\\\ b\\nc\n# TYPE x_g gauge\nx_g{l=\"q\\\"b\\\\n\\nz\"} 1.5\n");
}

TEST(MetricsTest, WrongLabelCountIsIgnored) {
  Registry r;
  MetricFamily* c = r.Counter("x_c", "C.", {"a"});
  c->Add({}, 1);
  c->Add({"1", "2"}, 1);
  EXPECT_EQ(r.Render(), "# HELP x_c C.\n# TYPE x_c counter\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Registry r;
  MetricFamily* h = r.Histogram("x_seconds", "Latency.", {"endpoint"}, {0.1, 1, 10});
  h->Observe({"e"}, 0.05);
  h->Observe({"e"}, 0.1);  // le is inclusive
  h->Observe({"e"}, 5);
  h->Observe({"e"}, 50);
  EXPECT_EQ(r.Render(),
            "# HELP x_seconds Latency.\n"
            "# TYPE x_seconds histogram\n"
            "x_seconds_bucket{endpoint=\"e\",le=\"0.1\"} 2\n"
            "x_seconds_bucket{endpoint=\"e\",le=\"1\"} 2\n"
            "x_seconds_bucket{endpoint=\"e\",le=\"10\"} 3\n"
            "x_seconds_bucket{endpoint=\"e\",le=\"+Inf\"} 4\n"
            "x_seconds_sum{endpoint=\"e\"} 55.15\n"
            "x_seconds_count{endpoint=\"e\"} 4\n");
  EXPECT_EQ(h->Value({"e"}), 4);
}

TEST(MetricsTest, StatusClasses) {
  EXPECT_EQ(StatusClass(200), "2xx");
  EXPECT_EQ(StatusClass(429), "4xx");
  EXPECT_EQ(StatusClass(503), "5xx");
  EXPECT_EQ(StatusClass(99), "other");
  EXPECT_EQ(StatusClass(600), "other");
}

TEST(MetricsTest, GatewayFamiliesRender) {
  GatewayMetrics m;
  m.RecordRequest("ohttp", 200, absl::Milliseconds(3));
  m.RecordRequest("ohttp", 429, absl::Milliseconds(1));
  m.enclave_up->Set({"16"}, 1);
  const std::string text = m.registry.Render();
  EXPECT_NE(text.find("confide_gateway_requests_total{endpoint=\"ohttp\",code=\"2xx\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("confide_gateway_requests_total{endpoint=\"ohttp\",code=\"4xx\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("confide_gateway_request_duration_seconds_bucket{endpoint=\"ohttp\","
                      "le=\"0.005\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("confide_gateway_request_duration_seconds_count{endpoint=\"ohttp\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("confide_gateway_enclave_healthy{cid=\"16\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("confide_gateway_inflight_requests 0\n"), std::string::npos);
  EXPECT_NE(text.find("confide_gateway_queue_depth 0\n"), std::string::npos);
  // Every non-comment line is `name{labels} value` or `name value`.
  size_t start = 0;
  int samples = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.rfind("# ", 0) == 0) continue;
    ++samples;
    EXPECT_EQ(line.rfind("confide_gateway_", 0), 0u) << line;
    EXPECT_NE(line.rfind(' '), std::string::npos) << line;
  }
  EXPECT_GT(samples, 20);
}

}  // namespace
}  // namespace confide::gateway
