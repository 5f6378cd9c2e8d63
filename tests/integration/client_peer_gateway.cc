// A stand-in for `confide gateway` + enclave for the client's integration tests: serves the
// sealed-path gateway API (docs/design/sealed-path.md §2) over plain HTTP on 127.0.0.1 with
// confide::client::testing::TestPeer (real OHTTP and chunked OHTTP, real emulated attestation
// documents, a canned echo/token inner API). Writes root.pem, trust.json (pins the peer's
// PCR0/1/2/8) and trust_wrong_pcr.json into DIR, prints "PORT <n>" and serves until SIGTERM or
// SIGINT. Test-only; the end-to-end tests against the real gateway and enclave replace it.
//
// Usage: client_peer_gateway DIR
#include <pthread.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <string>

#include "base/encoding.h"
#include "client/internal/test_peer.h"
#include "http/http.h"
#include "nlohmann/json.hpp"

int main(int argc, char** argv) {
  using confide::client::testing::TestPeer;
  namespace http = confide::http;
  if (argc != 2) {
    std::cerr << "usage: client_peer_gateway DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  auto peer = std::make_shared<TestPeer>();
  std::ofstream(dir + "/root.pem") << peer->RootPem();
  nlohmann::json pcrs = nlohmann::json::object();
  for (uint32_t i : {0u, 1u, 2u, 8u}) {
    pcrs[std::to_string(i)] = confide::base::HexEncode(peer->pcrs().at(i));
  }
  nlohmann::json trust = {{"roots", {"root.pem"}}, {"allow_simulation_root", true}, {"pcrs", pcrs}};
  std::ofstream(dir + "/trust.json") << trust.dump(2);
  trust["pcrs"]["0"] = std::string(96, '0');
  std::ofstream(dir + "/trust_wrong_pcr.json") << trust.dump(2);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  http::ServerOptions o;
  o.handler_threads = 4;
  auto server = http::Server::Start(o, [peer](const http::Request& req) {
    if (req.headers.Get("content-type") == "message/ohttp-chunked-req") {
      http::Response r;
      r.headers.Add("Content-Type", "message/ohttp-chunked-res");
      r.stream = [peer, req](http::BodyWriter& w) {
        (void)peer->Serve(
            req, [](const http::Response&) { return true; },
            [&w](std::string_view piece) { return w.Write(piece); });
      };
      return r;
    }
    auto r = peer->Send(req);
    return r.ok() ? *r : http::Response::Text(500, "");
  });
  if (!server.ok()) {
    std::cerr << "error: " << server.status().message() << "\n";
    return 1;
  }
  std::cout << "PORT " << (*server)->port() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->Stop();
  return 0;
}
