/*
 * A reaper that speaks testcontainers' Ryuk protocol, for the test that runs testcontainers
 * with its reaper on (tests/docker-sdks.test.ts). Ryuk's own image comes from Docker Hub,
 * which these machines do not reach; this is the same contract, built here:
 *
 *   - listens on :8080 and prints "Started!" once it does (testcontainers waits for it);
 *   - each line a client sends ("label=KEY=VALUE", several joined by '&') is a filter, and
 *     is answered "ACK\n";
 *   - once no client has been connected for RYUK_RECONNECTION_TIMEOUT (default 10s), it
 *     removes, through the Docker API on /var/run/docker.sock (bind-mounted from the host),
 *     every container, network, volume and image that a filter matches, itself last, and exits.
 *
 * So the socket-mounted path is exercised exactly as with Ryuk: a container that uses the
 * service it was started by. Built static (gcc -static), so the image needs nothing else.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILTERS 64
#define MAX_CLIENTS 64
#define BODY_MAX (4 << 20)

static char *filters[MAX_FILTERS];
static int nfilters;
static char hostname[256];

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* "10s", "500ms", "1m" or plain seconds, as Ryuk reads its durations. */
static long duration_ms(const char *text, long fallback) {
  if (!text || !*text) return fallback;
  char *end;
  double n = strtod(text, &end);
  if (strcmp(end, "ms") == 0) return (long)n;
  if (strcmp(end, "m") == 0) return (long)(n * 60000);
  return (long)(n * 1000);
}

static void add_filters(char *line) {
  line[strcspn(line, "\r\n")] = 0;
  for (char *part = strtok(line, "&"); part; part = strtok(NULL, "&")) {
    if (strncmp(part, "label=", 6) != 0 || nfilters == MAX_FILTERS) continue;
    int known = 0;
    for (int i = 0; i < nfilters; i++) known |= strcmp(filters[i], part + 6) == 0;
    if (!known) filters[nfilters++] = strdup(part + 6);
  }
}

/* One request to the Docker API (HTTP/1.0: the answer ends with the connection); its status. */
static int api(const char *method, const char *path, char *body, size_t size) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strcpy(addr.sun_path, "/var/run/docker.sock");
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("connect /var/run/docker.sock");
    if (fd >= 0) close(fd);
    return -1;
  }
  char request[2048];
  int n = snprintf(request, sizeof request, "%s %s HTTP/1.0\r\nHost: docker\r\n\r\n", method, path);
  if (write(fd, request, n) != n) {
    close(fd);
    return -1;
  }
  size_t got = 0;
  ssize_t r;
  while (got < size - 1 && (r = read(fd, body + got, size - 1 - got)) > 0) got += r;
  body[got] = 0;
  close(fd);
  int status = 0;
  sscanf(body, "HTTP/%*s %d", &status);
  return status;
}

static void url_encode(const char *in, char *out) {
  for (; *in; in++) {
    if ((*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') || (*in >= '0' && *in <= '9') ||
        strchr("-_.~", *in))
      *out++ = *in;
    else
      out += sprintf(out, "%%%02X", (unsigned char)*in);
  }
  *out = 0;
}

/* Removes every object of one kind that filter `label` matches, the reaper's own container last. */
static void reap(const char *list, const char *key, const char *remove_fmt, const char *label) {
  static char body[BODY_MAX];
  char json[1024], encoded[3072], path[4096];
  snprintf(json, sizeof json, "{\"label\":[\"%s\"]}", label);
  url_encode(json, encoded);
  snprintf(path, sizeof path, "%s%sfilters=%s", list, strchr(list, '?') ? "&" : "?", encoded);
  if (api("GET", path, body, sizeof body) != 200) return;
  char ids[256][160];
  int n = 0, self = -1;
  char needle[32];
  snprintf(needle, sizeof needle, "\"%s\":\"", key);
  for (char *at = strstr(body, needle); at && n < 256; at = strstr(at, needle)) {
    at += strlen(needle);
    size_t len = strcspn(at, "\"");
    if (len >= sizeof ids[0]) continue;
    memcpy(ids[n], at, len);
    ids[n][len] = 0;
    if (strcmp(key, "Id") == 0 && *hostname && strncmp(ids[n], hostname, strlen(hostname)) == 0) self = n;
    n++;
  }
  for (int i = 0; i < n; i++) {
    if (i == self) continue;
    snprintf(path, sizeof path, remove_fmt, ids[i]);
    printf("removing %s: %d\n", path, api("DELETE", path, body, sizeof body));
  }
  if (self >= 0) {
    snprintf(path, sizeof path, remove_fmt, ids[self]);
    fflush(stdout);
    api("DELETE", path, body, sizeof body);
  }
}

static void prune(void) {
  for (int i = 0; i < nfilters; i++) {
    reap("/containers/json?all=1", "Id", "/containers/%s?force=1&v=1", filters[i]);
    reap("/networks", "Id", "/networks/%s", filters[i]);
    reap("/volumes", "Name", "/volumes/%s", filters[i]);
    reap("/images/json", "Id", "/images/%s?force=1", filters[i]);
  }
  fflush(stdout);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  gethostname(hostname, sizeof hostname);
  long reconnect = duration_ms(getenv("RYUK_RECONNECTION_TIMEOUT"), 10000);
  long first = duration_ms(getenv("RYUK_CONNECTION_TIMEOUT"), 60000);
  int port = getenv("RYUK_PORT") ? atoi(getenv("RYUK_PORT")) : 8080;

  int server = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = INADDR_ANY};
  if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(server, 16) < 0) {
    perror("listen");
    return 1;
  }
  printf("Started!\n");

  struct pollfd fds[MAX_CLIENTS + 1] = {{.fd = server, .events = POLLIN}};
  char lines[MAX_CLIENTS + 1][4096];
  size_t used[MAX_CLIENTS + 1] = {0};
  int nfds = 1, connected = 0;
  long deadline = now_ms() + first;
  for (;;) {
    long wait = deadline - now_ms();
    if (nfds == 1 && wait <= 0) break;
    int ready = poll(fds, nfds, nfds == 1 ? (int)wait : -1);
    if (ready < 0 && errno != EINTR) return 1;
    if (ready <= 0) continue;
    if ((fds[0].revents & POLLIN) && nfds <= MAX_CLIENTS) {
      int client = accept(server, NULL, NULL);
      if (client >= 0) {
        fds[nfds] = (struct pollfd){.fd = client, .events = POLLIN};
        used[nfds++] = 0;
        connected = 1;
      }
    }
    for (int i = 1; i < nfds; i++) {
      if (!fds[i].revents) continue;
      ssize_t r = read(fds[i].fd, lines[i] + used[i], sizeof lines[i] - 1 - used[i]);
      if (r <= 0) {
        close(fds[i].fd);
        fds[i] = fds[nfds - 1];
        used[i] = used[nfds - 1];
        memcpy(lines[i], lines[nfds - 1], used[i]);
        nfds--;
        i--;
        if (nfds == 1) deadline = now_ms() + reconnect;
        continue;
      }
      used[i] += r;
      lines[i][used[i]] = 0;
      char *newline;
      while ((newline = strchr(lines[i], '\n'))) {
        *newline = 0;
        add_filters(lines[i]);
        if (write(fds[i].fd, "ACK\n", 4) != 4) break;
        used[i] -= newline + 1 - lines[i];
        memmove(lines[i], newline + 1, used[i] + 1);
      }
    }
  }
  printf(connected ? "no client for %ld ms: pruning\n" : "nobody connected within %ld ms: pruning\n",
         connected ? reconnect : first);
  prune();
  return 0;
}
