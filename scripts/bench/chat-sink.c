/*
 * Chat sink for `npm run bench:chat`: opens N WebSocket connections to a Glint chat and
 * reads everything they receive, counting bytes, with epoll. A Node.js reader would spend
 * more CPU draining 2 million frames a second than the server spends sending them; this
 * keeps the load generator out of the measurement. Prints "sockets <n> bytes <total>
 * frames <total>" every 250 ms. With SINK_DEFLATE set it negotiates permessage-deflate like
 * browsers do (and counts the compressed frames). Build: cc -O2 -o chat-sink chat-sink.c
 *   chat-sink <host> <port> <path> <count>
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CONNECTING, HANDSHAKE, OPEN };
/* Frame parser state: bytes of header collected, payload bytes still to skip. */
struct conn { int fd; int state; unsigned char hdr[14]; int hdrlen; long long skip; };

/* Counts complete WebSocket frames in a chunk of (unmasked, server-to-client) data. */
static long long count_frames(struct conn *c, const unsigned char *p, long long n) {
  long long frames = 0;
  while (n > 0) {
    if (c->skip > 0) {
      long long k = n < c->skip ? n : c->skip;
      c->skip -= k; p += k; n -= k;
      if (c->skip == 0) frames++;
      continue;
    }
    c->hdr[c->hdrlen++] = *p++; n--;
    if (c->hdrlen < 2) continue;
    int len7 = c->hdr[1] & 0x7f;
    int need = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
    if (c->hdrlen < need) continue;
    long long len = len7;
    if (len7 == 126) len = (c->hdr[2] << 8) | c->hdr[3];
    else if (len7 == 127) { len = 0; for (int i = 2; i < 10; i++) len = (len << 8) | c->hdr[i]; }
    c->hdrlen = 0;
    if (len == 0) frames++;
    else c->skip = len;
  }
  return frames;
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: chat-sink host port path count\n"); return 2; }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  const char *path = argv[3];
  int count = atoi(argv[4]);
  char request[1024];
  int reqlen = snprintf(request, sizeof request,
    "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: glint-chat.v1\r\n%s\r\n",
    path, host, port, getenv("SINK_DEFLATE") ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "");
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, host, &addr.sin_addr);
  int ep = epoll_create1(0);
  struct conn *conns = calloc(count, sizeof *conns);
  int open_count = 0, started = 0, in_flight = 0;
  long long bytes = 0, frames = 0, last_print = 0;
  static char buf[1 << 16];
  struct epoll_event events[512];
  for (;;) {
    /* Keep at most 200 handshakes in flight (the listen backlog is finite). */
    while (started < count && in_flight < 200) {
      struct conn *c = &conns[started];
      c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      int one = 1;
      setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
      c->state = CONNECTING;
      struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
      epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
      started++;
      in_flight++;
    }
    int n = epoll_wait(ep, events, 512, 50);
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        fprintf(stderr, "connection failed or closed\n");
        return 1;
      }
      if (c->state == CONNECTING && (events[i].events & EPOLLOUT)) {
        if (write(c->fd, request, reqlen) != reqlen) { perror("write"); return 1; }
        c->state = HANDSHAKE;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        continue;
      }
      if (!(events[i].events & EPOLLIN)) continue;
      for (;;) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r <= 0) {
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          fprintf(stderr, "connection closed by the server\n");
          return 1;
        }
        if (c->state == HANDSHAKE) {
          /* The 101 response is small and arrives whole; frames after it are counted. */
          char *end = memmem(buf, r, "\r\n\r\n", 4);
          if (!end) continue;
          if (strncmp(buf, "HTTP/1.1 101", 12) != 0) { fprintf(stderr, "upgrade refused: %.40s\n", buf); return 1; }
          c->state = OPEN;
          open_count++;
          in_flight--;
          bytes += r - (end + 4 - buf);
          frames += count_frames(c, (unsigned char *)end + 4, r - (end + 4 - buf));
        } else {
          bytes += r;
          frames += count_frames(c, (unsigned char *)buf, r);
        }
      }
    }
    long long t = now_ms();
    if (t - last_print >= 250) {
      printf("sockets %d bytes %lld frames %lld\n", open_count, bytes, frames);
      fflush(stdout);
      last_print = t;
    }
  }
}
