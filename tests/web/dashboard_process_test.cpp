// `wasmcloud dashboard` as a separate process against a real nats-server: SIGTERM and SIGINT end
// it cleanly (exit status 0) within 5 s even while a browser-like client holds a server-sent
// events stream and an idle keep-alive connection open; the stream is closed by the server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "support/servers.h"

#ifndef WC_CLI_BINARY
#error "WC_CLI_BINARY must name the wasmcloud executable"
#endif

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// A raw TCP client of 127.0.0.1:port (closed on destruction).
class Socket {
 public:
  explicit Socket(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  bool send_all(const std::string& s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  /// Reads until `needle` was received or `timeout` passed; true when seen.
  bool read_until(const std::string& needle, std::chrono::milliseconds timeout) {
    auto until = Clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      if (read_some(until) <= 0) return false;
    }
    return true;
  }
  /// Reads until the peer closes (true) or `timeout` passes (false).
  bool wait_eof(std::chrono::milliseconds timeout) {
    auto until = Clock::now() + timeout;
    for (;;) {
      auto n = read_some(until);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }
  const std::string& received() const { return received_; }

 private:
  /// >0 bytes read, 0 EOF, -1 timeout or error.
  ssize_t read_some(Clock::time_point until) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    char buf[4096];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) received_.append(buf, static_cast<std::size_t>(n));
    return n;
  }
  int fd_ = -1;
  std::string received_;
};

class DashboardProcess : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { nats_ = new wc::testing::NatsServer(); }
  static void TearDownTestSuite() {
    delete nats_;
    nats_ = nullptr;
  }

  void SetUp() override {
    dir_ = wc::testing::make_temp_dir("wc-dash-proc");
    port_ = wc::testing::free_port();
    proc_ = std::make_unique<wc::testing::ChildProcess>(
        std::vector<std::string>{WC_CLI_BINARY, "dashboard", "--port", std::to_string(port_),
                                 "--nats-port", std::to_string(nats_->port()), "--refresh-ms",
                                 "500"},
        dir_ + "/dashboard.log");
    ASSERT_TRUE(wc::testing::wait_port(port_)) << log();
  }

  std::string log() const {
    std::ifstream in(dir_ + "/dashboard.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string get(const std::string& path, bool keep_alive) const {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
           "\r\nAccept: " + (path == "/api/events" ? "text/event-stream" : "*/*") +
           "\r\nConnection: " + (keep_alive ? "keep-alive" : "close") + "\r\n\r\n";
  }

  /// Sends `sig` and waits up to 5 s for the exit; returns the wait status (-1 when the process
  /// is still running) and stores the time it took.
  int signal_and_wait(int sig) {
    const pid_t pid = proc_->pid();
    const auto t0 = Clock::now();
    ::kill(pid, sig);
    int status = 0;
    while (Clock::now() - t0 < 5s) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        took_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
        proc_.release();  // reaped: nothing left for its destructor to kill
        return status;
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

  /// Opens a server-sent-events stream and an idle keep-alive connection, sends `sig`, and
  /// checks the exit (status 0 within 5 s) and that the stream was closed.
  void check_clean_exit(int sig) {
    Socket sse(port_);
    ASSERT_TRUE(sse.ok());
    ASSERT_TRUE(sse.send_all(get("/api/events", true)));
    ASSERT_TRUE(sse.read_until("event: state", 5s)) << sse.received();
    EXPECT_NE(sse.received().find("text/event-stream"), std::string::npos);
    Socket idle(port_);
    ASSERT_TRUE(idle.ok());
    ASSERT_TRUE(idle.send_all(get("/api/livez", true)));
    ASSERT_TRUE(idle.read_until("{\"live\":true}", 5s)) << idle.received();

    int status = signal_and_wait(sig);
    ASSERT_NE(status, -1) << "still running 5 s after signal " << sig << "\n" << log();
    ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status) << "\n" << log();
    EXPECT_EQ(WEXITSTATUS(status), 0) << log();
    EXPECT_LT(took_.count(), 5000);
    std::cout << "[ measured ] signal " << sig << " -> exit in " << took_.count() << " ms"
              << std::endl;
    EXPECT_TRUE(sse.wait_eof(1s)) << "event stream still open after exit";
    EXPECT_NE(log().find("Dashboard stopped in"), std::string::npos) << log();
  }

  static inline wc::testing::NatsServer* nats_ = nullptr;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<wc::testing::ChildProcess> proc_;
  std::chrono::milliseconds took_{0};
};

TEST_F(DashboardProcess, SigtermWithAnOpenEventStreamExitsZeroWithinFiveSeconds) {
  check_clean_exit(SIGTERM);
}

TEST_F(DashboardProcess, SigintWithAnOpenEventStreamExitsZeroWithinFiveSeconds) {
  check_clean_exit(SIGINT);
}

TEST_F(DashboardProcess, SigtermRightAfterStartExitsZero) {
  // No client at all, the first refresh (ping.hosts) possibly still in flight.
  int status = signal_and_wait(SIGTERM);
  ASSERT_NE(status, -1) << log();
  ASSERT_TRUE(WIFEXITED(status)) << log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << log();
  EXPECT_LT(took_.count(), 5000);
}

}  // namespace
