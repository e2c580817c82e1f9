/* Prints the payload of every message published on a NATS subject, one per line on stdout,
 * until SIGTERM/SIGINT or a time limit (default 300 s); "subscribed" on stderr once the
 * subscription is in place. Test helper of tests/packaging/deb_test.sh, which watches the
 * lattice's events (host_stopped) with it; libnats from Debian's libnats-dev.
 * Usage: evt_watch NATS_URL SUBJECT [SECONDS] */
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_signal(int sig) {
  (void)sig;
  done = 1;
}

static void on_msg(natsConnection* nc, natsSubscription* sub, natsMsg* msg, void* closure) {
  (void)nc;
  (void)sub;
  (void)closure;
  fwrite(natsMsg_GetData(msg), 1, (size_t)natsMsg_GetDataLength(msg), stdout);
  fputc('\n', stdout);
  fflush(stdout);
  natsMsg_Destroy(msg);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: evt_watch NATS_URL SUBJECT [SECONDS]\n");
    return 2;
  }
  const int seconds = argc > 3 ? atoi(argv[3]) : 300;
  natsConnection* nc = NULL;
  natsSubscription* sub = NULL;
  if (natsConnection_ConnectTo(&nc, argv[1]) != NATS_OK) {
    fprintf(stderr, "evt_watch: cannot connect to %s\n", argv[1]);
    return 1;
  }
  if (natsConnection_Subscribe(&sub, nc, argv[2], on_msg, NULL) != NATS_OK ||
      natsConnection_Flush(nc) != NATS_OK) {
    fprintf(stderr, "evt_watch: cannot subscribe to %s\n", argv[2]);
    return 1;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  fprintf(stderr, "subscribed\n");
  for (int i = 0; i < seconds * 10 && !done; ++i) usleep(100000);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
  nats_Close();
  return 0;
}
