/* The media engine's per-packet hot path in C: an epoll relay of bridged RTP endpoints.
 *
 * Theory of operation
 * -------------------
 * The Python engine (callcenter.media.engine) stays the control plane and the reference:
 * callcenter.media.endpoint.Endpoint.receive is what this file does, for the common case
 * only. A Relay owns one epoll descriptor watching every RTP socket of the engine; the
 * engine adds that descriptor to its event loop, and each wake-up calls drain(), which
 * reads every ready socket with recvmmsg.
 *
 * A socket's slot is either *attached* (a bridged pair whose state the engine handed
 * over with attach()) or not. For an attached slot, drain() makes the same checks as
 * Endpoint.receive, in the same order: size (short, oversized), RTP version, the
 * latched source (strangers), the payload type, and then only a plain 12-octet header
 * of the locked SSRC whose sequence number is the next one (Endpoint.receive's fast
 * branch) or a little further on (packets lost on the way, as _accept_sequence). Such a
 * packet is counted, its interarrival jitter updated exactly as in Python, its payload
 * appended to the recording tap, and relayed on the partner's stream (header rewritten
 * with the partner's SSRC, sequence number and timestamp) with sendto.
 *
 * Every other datagram - an RFC 4733 event, a header with CSRCs or an extension, a new
 * SSRC, a sequence gap, anything on a slot that is not attached - is *handed off*:
 * drain() returns it to the engine, which gives it to Endpoint.receive. Handing off a
 * packet of an attached slot first detaches the slot and its partner in C (later
 * datagrams of the same drain follow it, in order); the engine then takes their state
 * back with detach() before calling Python, and attaches them again afterwards. State
 * thus lives in exactly one place at a time, and the rare paths run the reference code.
 *
 * take_frames() hands the tick the tapped audio of many slots in one bytes object.
 * The module also has two helpers for the benchmark's traffic generators: send_calls()
 * and recv_delays().
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RTP_HEADER_SIZE 12     /* RFC 3550 5.1 */
#define MAX_DATAGRAM 1500      /* endpoint.MAX_DATAGRAM */
#define RECV_SIZE (MAX_DATAGRAM + 1)
#define SIMPLE_HEADER 0x80     /* V=2, no padding, no extension, no CSRC */
#define FRAME_SAMPLES 160      /* 20 ms at 8 kHz */
#define BUFFER_LIMIT (5 * FRAME_SAMPLES)
#define SAMPLE_RATE 8000.0
#define MAX_TIMESTAMP_JUMP 8000.0
#define MAX_DROPOUT 3000       /* RFC 3550 A.1 */
#define BATCH 32               /* datagrams per recvmmsg */
#define MAX_EVENTS 512         /* ready sockets per epoll_wait */

typedef struct {
    long long received, forwarded, sent, short_, oversized, bad_version, strangers;
    long long bad_payload_type, sequence_wraps, timestamp_jumps, no_remote, lost;
} Counters;

typedef struct {
    int fd;                    /* -1: a free slot */
    int attached;
    int partner;               /* slot of the bridge partner */
    int tapped;
    int ready;                 /* SSRC locked, transit known, no SSRC change pending */
    unsigned paused;           /* the drain that handed this pair back: not read again in it */
    int audio_pt, event_pt, out_pt;     /* event_pt -1: none */
    int has_latched, has_target;
    struct sockaddr_in latched, target;
    uint32_t in_ssrc;
    uint32_t max_seq;
    double transit;
    uint32_t out_ssrc, out_seq, out_ts;
    long long out_packets;
    Counters c;
    double jitter, last_packet;
    unsigned char silence;
    int tap_len;
    unsigned char tap[BUFFER_LIMIT];
} Slot;

typedef struct {
    PyObject_HEAD
    int epfd;
    Slot *slots;
    Py_ssize_t capacity;
    long long send_errors;
    unsigned drains;
    unsigned char bufs[BATCH][RECV_SIZE];
    unsigned char out[RECV_SIZE];
} RelayObject;

static double monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Python's float modulo: the result has the sign of the divisor. */
static double py_fmod(double a, double b) {
    double m = fmod(a, b);
    if (m != 0.0 && ((m < 0) != (b < 0)))
        m += b;
    return m;
}

static int parse_address(PyObject *obj, struct sockaddr_in *out) {
    const char *host;
    int port;
    if (!PyArg_ParseTuple(obj, "si", &host, &port))
        return -1;
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1) {
        PyErr_Format(PyExc_ValueError, "not an IPv4 address: %s", host);
        return -1;
    }
    return 0;
}

static PyObject *address_tuple(const struct sockaddr_in *a) {
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    return Py_BuildValue("(si)", host, (int)ntohs(a->sin_port));
}

static Slot *get_slot(RelayObject *self, Py_ssize_t index) {
    if (index < 0 || index >= self->capacity || self->slots[index].fd < 0) {
        PyErr_Format(PyExc_KeyError, "no slot %zd", index);
        return NULL;
    }
    return &self->slots[index];
}

/* --- the object ----------------------------------------------------------------- */

static PyObject *Relay_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "", kwlist))
        return NULL;
    RelayObject *self = (RelayObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (self->epfd < 0) {
        Py_DECREF(self);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return (PyObject *)self;
}

static void Relay_dealloc(RelayObject *self) {
    if (self->epfd >= 0)
        close(self->epfd);
    PyMem_Free(self->slots);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Relay_fileno(RelayObject *self, PyObject *unused) {
    return PyLong_FromLong(self->epfd);
}

static PyObject *Relay_close(RelayObject *self, PyObject *unused) {
    if (self->epfd >= 0) {
        close(self->epfd);
        self->epfd = -1;
    }
    Py_RETURN_NONE;
}

/* add(fd) -> slot: watch a socket; its datagrams are handed off until attached. */
static PyObject *Relay_add(RelayObject *self, PyObject *arg) {
    int fd = PyLong_AsLong(arg);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t index = 0;
    while (index < self->capacity && self->slots[index].fd >= 0)
        index++;
    if (index == self->capacity) {
        Py_ssize_t capacity = self->capacity ? self->capacity * 2 : 64;
        Slot *grown = PyMem_Realloc(self->slots, (size_t)capacity * sizeof(Slot));
        if (grown == NULL)
            return PyErr_NoMemory();
        for (Py_ssize_t i = self->capacity; i < capacity; i++)
            grown[i].fd = -1;
        self->slots = grown;
        self->capacity = capacity;
    }
    Slot *s = &self->slots[index];
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->partner = -1;
    s->event_pt = -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)index};
    if (epoll_ctl(self->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        s->fd = -1;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromSsize_t(index);
}

static PyObject *Relay_remove(RelayObject *self, PyObject *arg) {
    Py_ssize_t index = PyLong_AsSsize_t(arg);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    Slot *s = get_slot(self, index);
    if (s == NULL)
        return NULL;
    epoll_ctl(self->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    if (s->partner >= 0 && s->partner < self->capacity) {
        Slot *p = &self->slots[s->partner];
        if (p->fd >= 0 && p->partner == index) {
            p->attached = 0;
            p->partner = -1;
        }
    }
    s->fd = -1;
    s->attached = 0;
    Py_RETURN_NONE;
}

/* --- state in and out ------------------------------------------------------------ */

#define COUNTER_FIELDS(X)                                                               \
    X(received) X(forwarded) X(sent) X(oversized) X(bad_version) X(strangers)           \
    X(bad_payload_type) X(sequence_wraps) X(timestamp_jumps) X(no_remote) X(lost)

static int get_ll(PyObject *d, const char *key, long long *out) {
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL) {
        PyErr_Format(PyExc_KeyError, "state has no %s", key);
        return -1;
    }
    *out = PyLong_AsLongLong(v);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static int get_double(PyObject *d, const char *key, double *out) {
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL) {
        PyErr_Format(PyExc_KeyError, "state has no %s", key);
        return -1;
    }
    *out = PyFloat_AsDouble(v);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static int get_address(PyObject *d, const char *key, int *has, struct sockaddr_in *out) {
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL) {
        PyErr_Format(PyExc_KeyError, "state has no %s", key);
        return -1;
    }
    *has = v != Py_None;
    return *has ? parse_address(v, out) : 0;
}

/* attach(slot, partner, state): the Python endpoint's state; C handles the slot from now. */
static PyObject *Relay_attach(RelayObject *self, PyObject *args) {
    Py_ssize_t index, partner;
    PyObject *d;
    if (!PyArg_ParseTuple(args, "nnO!", &index, &partner, &PyDict_Type, &d))
        return NULL;
    Slot *s = get_slot(self, index);
    if (s == NULL || get_slot(self, partner) == NULL)
        return NULL;
    Slot n = *s;
    long long v;
#define TAKE_LL(name, target)                                                           \
    if (get_ll(d, name, &v) < 0)                                                        \
        return NULL;                                                                    \
    target = v;
    TAKE_LL("audio_pt", n.audio_pt)
    TAKE_LL("event_pt", n.event_pt)
    TAKE_LL("out_pt", n.out_pt)
    TAKE_LL("in_ssrc", n.in_ssrc)
    TAKE_LL("max_seq", n.max_seq)
    TAKE_LL("out_ssrc", n.out_ssrc)
    TAKE_LL("out_seq", n.out_seq)
    TAKE_LL("out_ts", n.out_ts)
    TAKE_LL("out_packets", n.out_packets)
    TAKE_LL("tapped", n.tapped)
    TAKE_LL("ready", n.ready)
    TAKE_LL("silence", n.silence)
    TAKE_LL("short", n.c.short_)
#define TAKE_COUNTER(name) TAKE_LL(#name, n.c.name)
    COUNTER_FIELDS(TAKE_COUNTER)
    if (get_double(d, "transit", &n.transit) < 0 || get_double(d, "jitter", &n.jitter) < 0 ||
        get_double(d, "last_packet", &n.last_packet) < 0 ||
        get_address(d, "latched", &n.has_latched, &n.latched) < 0 ||
        get_address(d, "target", &n.has_target, &n.target) < 0)
        return NULL;
    PyObject *tap = PyDict_GetItemString(d, "tap");
    if (tap == NULL || !PyBytes_Check(tap)) {
        PyErr_SetString(PyExc_TypeError, "state's tap must be bytes");
        return NULL;
    }
    Py_ssize_t tap_len = PyBytes_GET_SIZE(tap);
    if (tap_len > BUFFER_LIMIT) {
        PyErr_SetString(PyExc_ValueError, "tap longer than the buffer limit");
        return NULL;
    }
    memcpy(n.tap, PyBytes_AS_STRING(tap), (size_t)tap_len);
    n.tap_len = (int)tap_len;
    n.partner = (int)partner;
    n.attached = 1;
    *s = n;
    Py_RETURN_NONE;
}

static PyObject *export_state(Slot *s) {
    PyObject *d = Py_BuildValue(
        "{s:K,s:K,s:K,s:L,s:d,s:d,s:d,s:y#,s:L}",
        "max_seq", (unsigned long long)s->max_seq, "out_seq", (unsigned long long)s->out_seq,
        "out_ts", (unsigned long long)s->out_ts, "out_packets", s->out_packets,
        "transit", s->transit, "jitter", s->jitter, "last_packet", s->last_packet,
        "tap", (const char *)s->tap, (Py_ssize_t)s->tap_len, "short", s->c.short_);
    if (d == NULL)
        return NULL;
#define PUT_COUNTER(name)                                                               \
    {                                                                                   \
        PyObject *v = PyLong_FromLongLong(s->c.name);                                   \
        if (v == NULL || PyDict_SetItemString(d, #name, v) < 0) {                       \
            Py_XDECREF(v);                                                              \
            Py_DECREF(d);                                                               \
            return NULL;                                                                \
        }                                                                               \
        Py_DECREF(v);                                                                   \
    }
    COUNTER_FIELDS(PUT_COUNTER)
    return d;
}

/* state(slot) -> dict: what C changed (counters, sequence, stream, tap), a copy. */
static PyObject *Relay_state(RelayObject *self, PyObject *arg) {
    Py_ssize_t index = PyLong_AsSsize_t(arg);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    Slot *s = get_slot(self, index);
    return s == NULL ? NULL : export_state(s);
}

/* detach(slot) -> dict: the state, and from now on the slot's datagrams are handed off. */
static PyObject *Relay_detach(RelayObject *self, PyObject *arg) {
    Py_ssize_t index = PyLong_AsSsize_t(arg);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    Slot *s = get_slot(self, index);
    if (s == NULL)
        return NULL;
    s->attached = 0;
    return export_state(s);
}

static PyObject *Relay_attached(RelayObject *self, PyObject *arg) {
    Py_ssize_t index = PyLong_AsSsize_t(arg);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    Slot *s = get_slot(self, index);
    return s == NULL ? NULL : PyBool_FromLong(s->attached);
}

/* --- the hot path ---------------------------------------------------------------- */

static void relay_to(RelayObject *self, Slot *p, const unsigned char *data, Py_ssize_t len,
                     int marker) {
    uint32_t samples = (uint32_t)(len - RTP_HEADER_SIZE);
    if (!p->has_target) {
        p->c.no_remote++;
        p->out_ts += samples;
        return;
    }
    unsigned char *out = self->out;
    memcpy(out, data, (size_t)len);
    out[1] = (unsigned char)(marker | p->out_pt);
    uint16_t seq = htons((uint16_t)p->out_seq);
    uint32_t ts = htonl(p->out_ts), ssrc = htonl(p->out_ssrc);
    memcpy(out + 2, &seq, 2);
    memcpy(out + 4, &ts, 4);
    memcpy(out + 8, &ssrc, 4);
    p->out_seq = (p->out_seq + 1) & 0xFFFF;
    p->out_ts += samples;
    p->out_packets++;
    if (sendto(p->fd, out, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&p->target,
               sizeof(p->target)) < 0)
        self->send_errors++;
    p->c.sent++;
}

/* 1: handled here; 0: hand it to Python. */
static int handle(RelayObject *self, Py_ssize_t index, const unsigned char *data,
                  Py_ssize_t len, const struct sockaddr_in *source, double now) {
    Slot *s = &self->slots[index];
    if (!s->attached)
        return 0;
    if (len < RTP_HEADER_SIZE) {
        s->c.short_++;
        return 1;
    }
    if (len > MAX_DATAGRAM) {
        s->c.oversized++;
        return 1;
    }
    unsigned first = data[0];
    if (first >> 6 != 2) {
        s->c.bad_version++;
        return 1;
    }
    if (!s->has_latched)
        return 0;
    if (source->sin_addr.s_addr != s->latched.sin_addr.s_addr ||
        source->sin_port != s->latched.sin_port) {
        s->c.strangers++;
        return 1;
    }
    int pt = data[1] & 0x7F;
    if (pt != s->audio_pt) {
        if (pt == s->event_pt)
            return 0;
        s->c.bad_payload_type++;
        return 1;
    }
    uint32_t seq = ((uint32_t)data[2] << 8) | data[3];
    uint32_t ts = ((uint32_t)data[4] << 24) | ((uint32_t)data[5] << 16) |
                  ((uint32_t)data[6] << 8) | data[7];
    uint32_t ssrc = ((uint32_t)data[8] << 24) | ((uint32_t)data[9] << 16) |
                    ((uint32_t)data[10] << 8) | data[11];
    if (!s->ready || first != SIMPLE_HEADER || ssrc != s->in_ssrc)
        return 0;
    uint32_t delta = (seq - s->max_seq) & 0xFFFF;
    if (delta == 1) {
        /* Endpoint.receive's fast branch, operation for operation (the same doubles). */
        if (seq == 0)
            s->c.sequence_wraps++;
        s->max_seq = seq;
        double now_transit = now * SAMPLE_RATE - (double)ts;
        double d = now_transit - s->transit;
        s->transit = now_transit;
        if (d > MAX_TIMESTAMP_JUMP || d < -MAX_TIMESTAMP_JUMP)
            d = py_fmod(d + 2147483648.0, 4294967296.0) - 2147483648.0;
        if (d < 0)
            d = -d;
        if (d <= MAX_TIMESTAMP_JUMP)
            s->jitter += (d - s->jitter) * 0.0625;
        else
            s->c.timestamp_jumps++;
    } else if (delta != 0 && delta < MAX_DROPOUT) {
        /* Packets lost in between: Endpoint._accept_sequence for the locked SSRC. */
        if (seq < s->max_seq)
            s->c.sequence_wraps++;
        s->c.lost += delta - 1;
        s->max_seq = seq;
        double transit = now * SAMPLE_RATE - (double)ts;
        double d = py_fmod(transit - s->transit + 2147483648.0, 4294967296.0) - 2147483648.0;
        if (fabs(d) > MAX_TIMESTAMP_JUMP)
            s->c.timestamp_jumps++;
        else
            s->jitter += (fabs(d) - s->jitter) / 16.0;
        s->transit = transit;
    } else {
        return 0; /* a duplicate, late, or a jump: the Python path decides */
    }
    s->c.received++;
    s->last_packet = now;
    if (s->tapped) {
        Py_ssize_t n = len - RTP_HEADER_SIZE;
        const unsigned char *payload = data + RTP_HEADER_SIZE;
        if (n >= BUFFER_LIMIT) {
            memcpy(s->tap, payload + (n - BUFFER_LIMIT), BUFFER_LIMIT);
            s->tap_len = BUFFER_LIMIT;
        } else {
            Py_ssize_t excess = s->tap_len + n - BUFFER_LIMIT;
            if (excess > 0) {
                memmove(s->tap, s->tap + excess, (size_t)(s->tap_len - excess));
                s->tap_len -= (int)excess;
            }
            memcpy(s->tap + s->tap_len, payload, (size_t)n);
            s->tap_len += (int)n;
        }
    }
    relay_to(self, &self->slots[s->partner], data, len, data[1] & 0x80);
    s->c.forwarded++;
    return 1;
}

static int hand_off(PyObject **list, Py_ssize_t index, const unsigned char *data,
                    Py_ssize_t len, const struct sockaddr_in *source) {
    if (*list == NULL && (*list = PyList_New(0)) == NULL)
        return -1;
    PyObject *item = Py_BuildValue("(ny#N)", index, (const char *)data, len,
                                   address_tuple(source));
    if (item == NULL)
        return -1;
    int rc = PyList_Append(*list, item);
    Py_DECREF(item);
    return rc;
}

/* drain(now) -> list of (slot, datagram, source) handed off, in arrival order per slot. */
static PyObject *Relay_drain(RelayObject *self, PyObject *arg) {
    double now = PyFloat_AsDouble(arg);
    if (now == -1.0 && PyErr_Occurred())
        return NULL;
    struct epoll_event events[MAX_EVENTS];
    int ready = epoll_wait(self->epfd, events, MAX_EVENTS, 0);
    if (ready < 0) {
        if (errno == EINTR)
            return PyList_New(0);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    struct mmsghdr msgs[BATCH];
    struct iovec iovs[BATCH];
    struct sockaddr_in sources[BATCH];
    PyObject *handed = NULL;
    unsigned drain = ++self->drains;
    for (int e = 0; e < ready; e++) {
        Py_ssize_t index = events[e].data.u32;
        if (index >= self->capacity || self->slots[index].fd < 0)
            continue;
        if (self->slots[index].paused == drain)
            continue; /* handed back in this drain: read on once Python attached it again */
        int fd = self->slots[index].fd;
        int stop = 0;
        while (!stop) {
            for (int i = 0; i < BATCH; i++) {
                iovs[i].iov_base = self->bufs[i];
                iovs[i].iov_len = RECV_SIZE;
                memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
                msgs[i].msg_hdr.msg_iov = &iovs[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
                msgs[i].msg_hdr.msg_name = &sources[i];
                msgs[i].msg_hdr.msg_namelen = sizeof(sources[i]);
            }
            int got = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
            if (got <= 0)
                break; /* EAGAIN, or an ICMP error reported on the socket: read on later */
            for (int i = 0; i < got; i++) {
                Py_ssize_t len = msgs[i].msg_len;
                if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
                    len = RECV_SIZE; /* more than MAX_DATAGRAM: oversized either way */
                if (handle(self, index, self->bufs[i], len, &sources[i], now))
                    continue;
                Slot *s = &self->slots[index];
                if (s->attached) { /* the pair goes back to Python, in order */
                    s->attached = 0;
                    self->slots[s->partner].attached = 0;
                    s->paused = self->slots[s->partner].paused = drain;
                    stop = 1; /* what this socket still holds waits for the next drain */
                }
                if (hand_off(&handed, index, self->bufs[i], len, &sources[i]) < 0) {
                    Py_XDECREF(handed);
                    return NULL;
                }
            }
            if (got < BATCH)
                break;
        }
    }
    return handed != NULL ? handed : PyList_New(0);
}

/* take_frames(slots) -> bytes: one 20 ms frame of each slot's tap, padded with silence. */
static PyObject *Relay_take_frames(RelayObject *self, PyObject *arg) {
    PyObject *seq = PySequence_Fast(arg, "take_frames takes a sequence of slots");
    if (seq == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyBytes_FromStringAndSize(NULL, count * FRAME_SAMPLES);
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t index = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(seq, i));
        Slot *s = (index == -1 && PyErr_Occurred()) ? NULL : get_slot(self, index);
        if (s == NULL) {
            Py_DECREF(seq);
            Py_DECREF(out);
            return NULL;
        }
        if (s->tap_len >= FRAME_SAMPLES) {
            memcpy(dst, s->tap, FRAME_SAMPLES);
            s->tap_len -= FRAME_SAMPLES;
            memmove(s->tap, s->tap + FRAME_SAMPLES, (size_t)s->tap_len);
        } else {
            memcpy(dst, s->tap, (size_t)s->tap_len);
            memset(dst + s->tap_len, s->silence, (size_t)(FRAME_SAMPLES - s->tap_len));
            s->tap_len = 0;
        }
        dst += FRAME_SAMPLES;
    }
    Py_DECREF(seq);
    return out;
}

static PyObject *Relay_get_send_errors(RelayObject *self, void *closure) {
    return PyLong_FromLongLong(self->send_errors);
}

static PyMethodDef Relay_methods[] = {
    {"fileno", (PyCFunction)Relay_fileno, METH_NOARGS, "The epoll descriptor to watch."},
    {"close", (PyCFunction)Relay_close, METH_NOARGS, "Close the epoll descriptor."},
    {"add", (PyCFunction)Relay_add, METH_O, "add(fd) -> slot"},
    {"remove", (PyCFunction)Relay_remove, METH_O, "remove(slot)"},
    {"attach", (PyCFunction)Relay_attach, METH_VARARGS, "attach(slot, partner, state)"},
    {"detach", (PyCFunction)Relay_detach, METH_O, "detach(slot) -> state"},
    {"state", (PyCFunction)Relay_state, METH_O, "state(slot) -> state (a copy)"},
    {"attached", (PyCFunction)Relay_attached, METH_O, "attached(slot) -> bool"},
    {"drain", (PyCFunction)Relay_drain, METH_O, "drain(now) -> handed-off datagrams"},
    {"take_frames", (PyCFunction)Relay_take_frames, METH_O, "take_frames(slots) -> bytes"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Relay_getset[] = {
    {"send_errors", (getter)Relay_get_send_errors, NULL, "sendto failures", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject RelayType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "callcenter.media._fastpath.Relay",
    .tp_basicsize = sizeof(RelayObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An epoll relay of bridged RTP endpoints; see the module's source.",
    .tp_new = Relay_new,
    .tp_dealloc = (destructor)Relay_dealloc,
    .tp_methods = Relay_methods,
    .tp_getset = Relay_getset,
};

/* --- the benchmark generators' batched I/O ---------------------------------------- */

/* recv_delays(fd, window_start, window_end) -> (count, delays): every datagram waiting,
 * stamped at offset 12 with its send time (a big-endian double); the delays (bytes of
 * native doubles, seconds) of those sent in the window. */
static PyObject *fp_recv_delays(PyObject *module, PyObject *args) {
    int fd;
    double window_start, window_end;
    if (!PyArg_ParseTuple(args, "idd", &fd, &window_start, &window_end))
        return NULL;
    static unsigned char bufs[BATCH][64];
    struct mmsghdr msgs[BATCH];
    struct iovec iovs[BATCH];
    double delays[BATCH * 16];
    Py_ssize_t count = 0, total = 0;
    PyObject *out = PyBytes_FromStringAndSize(NULL, 0);
    if (out == NULL)
        return NULL;
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iovs[i].iov_base = bufs[i];
            iovs[i].iov_len = sizeof(bufs[i]);
            memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int got = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (got <= 0)
            break;
        double arrived = monotonic_now();
        for (int i = 0; i < got; i++) {
            if (msgs[i].msg_len < 24)
                continue;
            uint64_t bits = 0;
            for (int k = 0; k < 8; k++)
                bits = (bits << 8) | bufs[i][12 + k];
            double sent_at;
            memcpy(&sent_at, &bits, sizeof(sent_at));
            if (window_start <= sent_at && sent_at < window_end)
                delays[count++] = arrived - sent_at;
        }
        if (count > BATCH * 15 || got < BATCH) {
            Py_ssize_t old = PyBytes_GET_SIZE(out);
            if (_PyBytes_Resize(&out, old + count * (Py_ssize_t)sizeof(double)) < 0)
                return NULL;
            memcpy(PyBytes_AS_STRING(out) + old, delays, (size_t)count * sizeof(double));
            total += count;
            count = 0;
        }
        if (got < BATCH)
            break;
    }
    if (count) {
        Py_ssize_t old = PyBytes_GET_SIZE(out);
        if (_PyBytes_Resize(&out, old + count * (Py_ssize_t)sizeof(double)) < 0)
            return NULL;
        memcpy(PyBytes_AS_STRING(out) + old, delays, (size_t)count * sizeof(double));
        total += count;
    }
    return Py_BuildValue("(nN)", total, out);
}

/* send_calls(fd, first, last, seqs, ssrc_base, addresses, window_start, window_end)
 *   -> (sent, sent_in_window): one 20 ms PCMU packet for each call first..last-1 of one
 * side, as the benchmark's generator builds them (sequence seqs[i], timestamp 160 per
 * packet, SSRC ssrc_base | i; the send time, a big-endian double, and the call number at
 * offset 12; 0xFF filler), stamped as built and sent with sendmmsg; seqs advance. */
#define GEN_PACKET 172
static PyObject *fp_send_calls(PyObject *module, PyObject *args) {
    int fd;
    Py_ssize_t first, last;
    Py_buffer seqs;
    unsigned long ssrc_base;
    PyObject *addresses;
    double window_start, window_end;
    if (!PyArg_ParseTuple(args, "innw*kO!dd", &fd, &first, &last, &seqs, &ssrc_base,
                          &PyList_Type, &addresses, &window_start, &window_end))
        return NULL;
    PyObject *result = NULL;
    if (seqs.itemsize != 4 || first < 0 || last > seqs.len / 4 ||
        last > PyList_GET_SIZE(addresses)) {
        PyErr_SetString(PyExc_ValueError, "seqs (4-byte items) and addresses must cover the calls");
        goto done;
    }
    uint32_t *seq = seqs.buf;
    static unsigned char packets[BATCH][GEN_PACKET];
    struct mmsghdr msgs[BATCH];
    struct iovec iovs[BATCH];
    struct sockaddr_in names[BATCH];
    int in_window[BATCH];
    Py_ssize_t sent = 0, counted = 0;
    for (Py_ssize_t start = first; start < last; start += BATCH) {
        int n = (int)(last - start < BATCH ? last - start : BATCH);
        for (int k = 0; k < n; k++) {
            Py_ssize_t call = start + k;
            if (parse_address(PyList_GET_ITEM(addresses, call), &names[k]) < 0)
                goto done;
            unsigned char *p = packets[k];
            uint32_t number = seq[call]++;
            uint16_t s16 = htons((uint16_t)number);
            uint32_t ts = htonl(number * 160u), ssrc = htonl((uint32_t)(ssrc_base | (unsigned long)call));
            uint32_t call_be = htonl((uint32_t)call);
            p[0] = 0x80;
            p[1] = 0;
            memcpy(p + 2, &s16, 2);
            memcpy(p + 4, &ts, 4);
            memcpy(p + 8, &ssrc, 4);
            double now = monotonic_now();
            uint64_t bits;
            memcpy(&bits, &now, 8);
            for (int b = 0; b < 8; b++)
                p[12 + b] = (unsigned char)(bits >> (56 - 8 * b));
            memcpy(p + 20, &call_be, 4);
            memset(p + 24, 0xFF, GEN_PACKET - 24);
            in_window[k] = window_start <= now && now < window_end;
            iovs[k].iov_base = p;
            iovs[k].iov_len = GEN_PACKET;
            memset(&msgs[k].msg_hdr, 0, sizeof(msgs[k].msg_hdr));
            msgs[k].msg_hdr.msg_iov = &iovs[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
            msgs[k].msg_hdr.msg_name = &names[k];
            msgs[k].msg_hdr.msg_namelen = sizeof(names[k]);
        }
        int done = 0;
        while (done < n) {
            int r = sendmmsg(fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
            if (r <= 0)
                break; /* a full buffer: the rest of this batch is lost, not counted */
            done += r;
        }
        for (int k = 0; k < done; k++)
            counted += in_window[k];
        sent += done;
    }
    result = Py_BuildValue("(nn)", sent, counted);
done:
    PyBuffer_Release(&seqs);
    return result;
}

static PyObject *fp_monotonic(PyObject *module, PyObject *unused) {
    return PyFloat_FromDouble(monotonic_now());
}

static PyMethodDef module_methods[] = {
    {"recv_delays", fp_recv_delays, METH_VARARGS,
     "recv_delays(fd, window_start, window_end) -> (count, delays)"},
    {"send_calls", fp_send_calls, METH_VARARGS,
     "send_calls(fd, first, last, seqs, ssrc_base, addresses, window_start, window_end)"},
    {"monotonic", fp_monotonic, METH_NOARGS, "CLOCK_MONOTONIC, as time.monotonic()"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastpath_module = {
    PyModuleDef_HEAD_INIT, "_fastpath",
    "The media engine's per-packet hot path (an epoll RTP relay) and batched UDP I/O.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__fastpath(void) {
    if (PyType_Ready(&RelayType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&fastpath_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&RelayType);
    if (PyModule_AddObject(m, "Relay", (PyObject *)&RelayType) < 0) {
        Py_DECREF(&RelayType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "BUFFER_LIMIT", BUFFER_LIMIT) < 0 ||
        PyModule_AddIntConstant(m, "MAX_DATAGRAM", MAX_DATAGRAM) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
