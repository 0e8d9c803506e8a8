/* The floor client: the least a Lambda runtime can do, as the benchmark's baseline.
 *
 * One keep-alive TCP connection to AWS_LAMBDA_RUNTIME_API (host:port) with TCP_NODELAY; forever:
 * GET /next, read the invocation (headers and body), POST a fixed body to /response, read the
 * 202. No libraries beyond libc, no parsing beyond what the protocol strictly needs. Exits 0 when
 * the server closes the connection, 1 on any other failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_SIZE 65536
#define ID_SIZE 256

static const char kNext[] = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n";
static const char kBody[] = "{\"message\":\"Hello, bench!\"}";

/* Bytes received but not yet consumed: buffer[start, end). */
static char buffer[BUFFER_SIZE];
static size_t start;
static size_t end;

static int fail(const char* what) {
  fprintf(stderr, "floor_client: %s: %s\n", what, errno != 0 ? strerror(errno) : "protocol error");
  return 1;
}

static int connect_to(const char* host_port) {
  char host[256];
  const char* colon = strrchr(host_port, ':');
  if (colon == NULL || (size_t)(colon - host_port) >= sizeof host) return -1;
  memcpy(host, host_port, (size_t)(colon - host_port));
  host[colon - host_port] = '\0';
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* found = NULL;
  if (getaddrinfo(host, colon + 1, &hints, &found) != 0) return -1;
  int fd = -1;
  for (struct addrinfo* a = found; a != NULL; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd >= 0) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

static int write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    data += n;
    size -= (size_t)n;
  }
  return 0;
}

/* Reads more bytes into the buffer. Returns the count, 0 on EOF, -1 on error or a full buffer. */
static ssize_t fill(int fd) {
  if (start > 0) { /* compact */
    memmove(buffer, buffer + start, end - start);
    end -= start;
    start = 0;
  }
  if (end == sizeof buffer) return -1;
  for (;;) {
    const ssize_t n = read(fd, buffer + end, sizeof buffer - end);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) end += (size_t)n;
    return n;
  }
}

/* Finds the value of header `name` in the header block [head, head_end), case-insensitive. */
static const char* find_header(const char* head, const char* head_end, const char* name,
                               size_t* length) {
  const size_t name_length = strlen(name);
  const char* line = head;
  while (line < head_end) {
    const char* eol = memchr(line, '\n', (size_t)(head_end - line));
    if (eol == NULL) eol = head_end;
    if ((size_t)(eol - line) > name_length && line[name_length] == ':' &&
        strncasecmp(line, name, name_length) == 0) {
      const char* value = line + name_length + 1;
      while (value < eol && (*value == ' ' || *value == '\t')) ++value;
      const char* value_end = eol;
      while (value_end > value && (value_end[-1] == '\r' || value_end[-1] == ' ')) --value_end;
      *length = (size_t)(value_end - value);
      return value;
    }
    line = eol + 1;
  }
  return NULL;
}

/* Reads one response: headers, then a Content-Length body (discarded). Copies the request id
 * into `id` when `id` is not NULL. Returns 1 on success, 0 on EOF before any byte, -1 on error. */
static int read_response(int fd, char* id) {
  const char* head_end;
  for (;;) {
    head_end = NULL;
    if (end - start >= 4) {
      for (size_t i = start; i + 3 < end; ++i) {
        if (memcmp(buffer + i, "\r\n\r\n", 4) == 0) {
          head_end = buffer + i + 4;
          break;
        }
      }
    }
    if (head_end != NULL) break;
    const ssize_t n = fill(fd);
    if (n == 0 && end == start) return 0;
    if (n <= 0) return -1;
  }
  const char* head = buffer + start;
  size_t length = 0;
  const char* value = find_header(head, head_end, "Content-Length", &length);
  const size_t body_size = value == NULL ? 0 : strtoul(value, NULL, 10);
  if (id != NULL) {
    value = find_header(head, head_end, "Lambda-Runtime-Aws-Request-Id", &length);
    if (value == NULL || length == 0 || length >= ID_SIZE) return -1;
    memcpy(id, value, length);
    id[length] = '\0';
  }
  start = (size_t)(head_end - buffer);
  /* Discard the body, which may be larger than the buffer. */
  size_t left = body_size;
  for (;;) {
    const size_t have = end - start < left ? end - start : left;
    start += have;
    left -= have;
    if (left == 0) break;
    start = end = 0;
    if (fill(fd) <= 0) return -1;
  }
  return 1;
}

int main(void) {
  const char* api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == NULL) {
    fprintf(stderr, "floor_client: AWS_LAMBDA_RUNTIME_API is not set\n");
    return 1;
  }
  const int fd = connect_to(api);
  if (fd < 0) return fail("connect");

  char id[ID_SIZE];
  char post[512 + ID_SIZE];
  for (;;) {
    errno = 0;
    if (write_all(fd, kNext, sizeof kNext - 1) != 0) return fail("write /next");
    const int got = read_response(fd, id);
    if (got == 0) return 0; /* the server went away: done */
    if (got < 0) return fail("read /next");
    const int n = snprintf(post, sizeof post,
                           "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\n"
                           "Host: x\r\nContent-Length: %zu\r\n\r\n%s",
                           id, sizeof kBody - 1, kBody);
    if (n < 0 || (size_t)n >= sizeof post) return fail("request id too long");
    if (write_all(fd, post, (size_t)n) != 0) return fail("write /response");
    const int posted = read_response(fd, NULL);
    if (posted == 0) return 0;
    if (posted < 0) return fail("read /response");
  }
}
