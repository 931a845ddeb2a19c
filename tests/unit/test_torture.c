// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Crash torture: writer processes die at random instants and the dictionary
 * they leave behind must keep the crash-safety contract (SPEC §3):
 *
 * - every value is whole: it is exactly the bytes one fg_set wrote;
 * - it is the value of the last fg_set/fg_commit that returned, or of the
 *   one in flight, never an older one; a key whose last completed operation
 *   was a delete is absent (or holds the in-flight value);
 * - a transaction is all or nothing across its four keys;
 * - the reader discards nothing.
 *
 * Deaths: SIGKILL from outside after a random 0-2 ms, or a self-inflicted
 * SIGSEGV (a NULL store) or abort() at a step drawn from the seeded PRNG —
 * in a single-threaded writer or in one thread of a writer whose other
 * threads keep writing through the same mutex-protected handle (the usual
 * way an app shares one struct fg).
 *
 * Values carry their own key id, sequence number, length and a checksum and
 * are otherwise a PRNG stream of (key, sequence), so the parent can tell a
 * torn, stale or misplaced value by content alone. The writer tells the
 * parent, through a MAP_SHARED page made before the fork, the sequence of
 * the last operation per key that returned and of the one in flight.
 *
 * The dictionary comes from the parent (fg_memfd_create, $FAULTGUARD_FD: the
 * guardian mode) and is read with fg_snapshot_read_fd after each death.
 *
 *   FG_TORTURE_KILLS  deaths in total (default 2000)
 *   FG_TORTURE_SEED   the seed (default: from the clock); printed either way
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dict/layout.h"
#include "faultguard.h"
#include "framework/test.h"

#define DEFAULT_KILLS 2000
#define MAX_LANES 8
#define DICT_BYTES (64u << 20)
#define MAX_VALUE (256u << 10)
#define MAX_THREADS 3
#define KEYS_PER_THREAD 24 /* single keys */
#define GROUPS_PER_THREAD 4
#define GROUP_KEYS 4
#define KID_STRIDE (KEYS_PER_THREAD + GROUPS_PER_THREAD * GROUP_KEYS)
#define MAX_KIDS (MAX_THREADS * KID_STRIDE)
#define SELF_CRASH_STEPS 400 /* a self-inflicted death comes within this many steps */
#define KILL_MAX_US 2000
#define DEATH_TIMEOUT_MS 20000 /* a writer that should have crashed by now has hung */

#define VAL_MAGIC 0x31545254u /* "TRT1" */
#define FLAG_DRAFT 1u	      /* a value a transaction overwrites before commit */

/* Progress words: seq << 2 | kind; 0 = never. */
enum op_kind { OP_SET = 1, OP_DEL = 2 };
#define OP(seq, kind) ((uint64_t)(seq) << 2 | (kind))
#define OP_SEQ(w) ((w) >> 2)
#define OP_KIND(w) ((int)((w)&3))

struct prog {
	_Atomic uint64_t done;	   /* the last operation that returned */
	_Atomic uint64_t inflight; /* the last operation started */
};

/* The page the writer reports through; mapped MAP_SHARED before the fork. */
struct shared {
	struct prog key[MAX_KIDS];
	struct prog group[MAX_THREADS][GROUPS_PER_THREAD];
	_Atomic int failed;
	char msg[256];
};

enum death { DEATH_KILL, DEATH_SEGV, DEATH_ABORT };
static const char *const death_name[] = {"SIGKILL", "SIGSEGV", "abort"};
static const int death_signal[] = {SIGKILL, SIGSEGV, SIGABRT};

/* What one writer process does: its threads, keys, and how it dies. */
struct round {
	uint64_t seed;
	int threads; /* 1, or MAX_THREADS sharing one handle */
	int nkeys;   /* single keys per thread */
	int ngroups; /* transaction groups per thread */
	enum death death;
	int crasher;	   /* the thread that crashes itself */
	uint64_t crash_at; /* ... at this step */
	unsigned kill_us;
};

/* --- PRNG and value contents ------------------------------------------------ */

static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint64_t rnd(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ull;
	return mix64(*s);
}

static inline uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return rnd(s) % n;
}

struct val_hdr {
	uint32_t magic;
	uint32_t kid;
	uint64_t seq;
	uint32_t len;
	uint32_t flags;
	uint64_t sum; /* fletcher-style sum of everything else */
};

/* The length of the value of (@kid, @seq): 0 B to 256 KiB, small ones most often. */
static size_t value_len(unsigned kid, uint64_t seq)
{
	uint64_t h = mix64(seq * 1000003u + kid), r = h % 1000, x = h >> 20;

	if (r < 20)
		return 0;
	if (r < 100)
		return 1 + x % (sizeof(struct val_hdr) - 1);
	if (r < 450)
		return sizeof(struct val_hdr) + x % 33; /* up to 64: stored inline */
	if (r < 750)
		return 65 + x % (4096 - 64);
	if (r < 930)
		return 4097 + x % (65536 - 4096);
	if (r < 995)
		return 65537 + x % (MAX_VALUE - 65536);
	return MAX_VALUE;
}

static uint64_t fletcher(const uint8_t *p, size_t n, uint64_t a, uint64_t b)
{
	uint64_t w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		a += w;
		b += a;
	}
	for (; n; n--, p++) {
		a += *p;
		b += a;
	}
	return a ^ (b * 0x9e3779b97f4a7c15ull);
}

/* Fills @buf with the value of (@kid, @seq, @flags) and returns its length. */
static size_t make_value(uint8_t *buf, unsigned kid, uint64_t seq, uint32_t flags)
{
	size_t len = value_len(kid, seq), i;
	uint64_t s = mix64(((uint64_t)kid << 40) ^ (seq << 1) ^ flags), w;
	struct val_hdr h;
	uint8_t *p = buf;

	if (len >= sizeof(h))
		p += sizeof(h);
	for (i = 0; i + 8 <= len - (size_t)(p - buf); i += 8) {
		w = rnd(&s);
		memcpy(p + i, &w, 8);
	}
	w = rnd(&s);
	memcpy(p + i, &w, len - (size_t)(p - buf) - i);
	if (len >= sizeof(h)) {
		h = (struct val_hdr){
		    .magic = VAL_MAGIC,
		    .kid = kid,
		    .seq = seq,
		    .len = (uint32_t)len,
		    .flags = flags,
		};
		h.sum =
		    fletcher(p, len - sizeof(h),
			     fletcher((const uint8_t *)&h, offsetof(struct val_hdr, sum), 1, 0), 0);
		memcpy(buf, &h, sizeof(h));
	}
	return len;
}

/* --- names ---------------------------------------------------------------------- */

static inline unsigned kid_single(int t, int j)
{
	return (unsigned)(t * KID_STRIDE + j);
}

static inline unsigned kid_member(int t, int g, int m)
{
	return (unsigned)(t * KID_STRIDE + KEYS_PER_THREAD + g * GROUP_KEYS + m);
}

static char names[MAX_KIDS][256];

/* Short keys, keys long enough to live in the arena, and one of the maximum length. */
static void make_names(void)
{
	int t, j, g, m;

	for (t = 0; t < MAX_THREADS; t++) {
		for (j = 0; j < KEYS_PER_THREAD; j++) {
			char *n = names[kid_single(t, j)];
			int len = snprintf(n, 256, "t%d.key%02d", t, j);

			if (j % 5 == 4 || j == 3) {
				int want = j == 3 ? 255 : 100 + j;

				memset(n + len, 'x', (size_t)(want - len));
				n[want] = '\0';
			}
		}
		for (g = 0; g < GROUPS_PER_THREAD; g++)
			for (m = 0; m < GROUP_KEYS; m++)
				snprintf(names[kid_member(t, g, m)], 256, "t%d.txn%d.m%d", t, g, m);
	}
}

/* --- the writer (a forked child) ----------------------------------------------- */

struct writer {
	struct fg *fg;
	pthread_mutex_t lock;
	struct shared *sh;
	const struct round *r;
};

struct wthread {
	struct writer *w;
	pthread_t tid;
	int t;
	uint64_t rng;
	uint64_t seq;
	uint64_t steps;
	uint8_t *buf;
	bool present[KEYS_PER_THREAD];
	bool group_present[GROUPS_PER_THREAD];
};

/* Where a self-inflicted SIGSEGV stores: a PROT_NONE page, not NULL (UBSan would stop at NULL). */
static void *volatile forbidden_page;

static void writer_fail(struct wthread *wt, const char *what, const char *key, int err)
{
	struct shared *sh = wt->w->sh;

	if (!atomic_exchange(&sh->failed, 1))
		snprintf(sh->msg, sizeof(sh->msg), "writer thread %d: %s(\"%.40s\") = %d (%s)",
			 wt->t, what, key, err, strerror(err < 0 ? -err : err));
	_exit(3);
}

/* Counts a step and dies here if this is the chosen one. */
static inline void step(struct wthread *wt)
{
	const struct round *r = wt->w->r;

	if (++wt->steps != r->crash_at || wt->t != r->crasher)
		return;
	if (r->death == DEATH_SEGV)
		*(volatile int *)forbidden_page = 1;
	else if (r->death == DEATH_ABORT)
		abort();
}

static inline void report(_Atomic uint64_t *word, uint64_t op)
{
	/* Ordered against the dictionary stores around it, as a signal handler would see them. */
	atomic_signal_fence(memory_order_seq_cst);
	atomic_store_explicit(word, op, memory_order_release);
	atomic_signal_fence(memory_order_seq_cst);
}

static void lock(struct wthread *wt)
{
	if (wt->w->r->threads > 1)
		pthread_mutex_lock(&wt->w->lock);
}

static void unlock(struct wthread *wt)
{
	if (wt->w->r->threads > 1)
		pthread_mutex_unlock(&wt->w->lock);
}

static void do_set(struct wthread *wt, int j)
{
	unsigned kid = kid_single(wt->t, j);
	struct prog *p = &wt->w->sh->key[kid];
	uint64_t seq = ++wt->seq;
	size_t len = make_value(wt->buf, kid, seq, 0);
	int err;

	report(&p->inflight, OP(seq, OP_SET));
	lock(wt);
	err = fg_set(wt->w->fg, names[kid], wt->buf, len);
	unlock(wt);
	if (err)
		writer_fail(wt, "fg_set", names[kid], err);
	report(&p->done, OP(seq, OP_SET));
	wt->present[j] = true;
	step(wt);
}

static void do_del(struct wthread *wt, int j)
{
	unsigned kid = kid_single(wt->t, j);
	struct prog *p = &wt->w->sh->key[kid];
	uint64_t seq = ++wt->seq;
	int err;

	report(&p->inflight, OP(seq, OP_DEL));
	lock(wt);
	err = fg_del(wt->w->fg, names[kid]);
	unlock(wt);
	if (err != (wt->present[j] ? 0 : -ENOENT))
		writer_fail(wt, "fg_del", names[kid], err);
	report(&p->done, OP(seq, OP_DEL));
	wt->present[j] = false;
	step(wt);
}

static void txn_set(struct wthread *wt, unsigned kid, uint64_t seq, uint32_t flags)
{
	size_t len = make_value(wt->buf, kid, seq, flags);
	int err = fg_set(wt->w->fg, names[kid], wt->buf, len);

	if (err)
		writer_fail(wt, "fg_set in a transaction", names[kid], err);
	step(wt);
}

/*
 * One transaction over the four keys of group @g: all set to one sequence
 * number (sometimes after a draft that must never be seen), or all deleted,
 * or — when @rollback — set and rolled back, which must leave no trace.
 */
static void do_txn(struct wthread *wt, int g, bool rollback)
{
	struct prog *p = &wt->w->sh->group[wt->t][g];
	uint64_t seq = ++wt->seq;
	bool del = !rollback && wt->group_present[g] && rnd_below(&wt->rng, 5) == 0;
	bool draft = !del && rnd_below(&wt->rng, 4) == 0;
	int m, err;

	if (!rollback)
		report(&p->inflight, OP(seq, del ? OP_DEL : OP_SET));
	lock(wt);
	err = fg_begin(wt->w->fg);
	if (err)
		writer_fail(wt, "fg_begin", names[kid_member(wt->t, g, 0)], err);
	step(wt);
	for (m = 0; m < GROUP_KEYS; m++) {
		unsigned kid = kid_member(wt->t, g, m);

		if (draft && m == 1)
			txn_set(wt, kid_member(wt->t, g, 0), seq, FLAG_DRAFT);
		if (del) {
			err = fg_del(wt->w->fg, names[kid]);
			if (err)
				writer_fail(wt, "fg_del in a transaction", names[kid], err);
			step(wt);
		} else {
			txn_set(wt, kid, seq, draft && m == 0 ? FLAG_DRAFT : 0);
		}
	}
	if (draft)
		txn_set(wt, kid_member(wt->t, g, 0), seq, 0);
	err = rollback ? fg_rollback(wt->w->fg) : fg_commit(wt->w->fg);
	unlock(wt);
	if (err)
		writer_fail(wt, rollback ? "fg_rollback" : "fg_commit",
			    names[kid_member(wt->t, g, 0)], err);
	if (!rollback) {
		report(&p->done, OP(seq, del ? OP_DEL : OP_SET));
		wt->group_present[g] = !del;
	}
	step(wt);
}

static void *writer_thread(void *arg)
{
	struct wthread *wt = arg;
	const struct round *r = wt->w->r;

	for (;;) {
		uint64_t x = rnd_below(&wt->rng, 100);

		if (x < 62) {
			do_set(wt, (int)rnd_below(&wt->rng, (uint64_t)r->nkeys));
		} else if (x < 74) {
			int j = (int)rnd_below(&wt->rng, (uint64_t)r->nkeys);

			if (wt->present[j] || x < 65)
				do_del(wt, j);
			else
				do_set(wt, j);
		} else {
			do_txn(wt, (int)rnd_below(&wt->rng, (uint64_t)r->ngroups), x >= 96);
		}
	}
	return NULL;
}

/* The child's life: open the inherited dictionary, say ready, write until death. */
static void writer_main(const struct round *r, struct shared *sh, int memfd, int ready_fd)
{
	struct fg_opts o = {.sz = sizeof(o), .app = "torture"};
	static struct wthread wt[MAX_THREADS];
	static struct writer w;
	char fdstr[16];
	int t;

	/* Deaths here are planned: no core dumps, and no sanitizer turning SIGSEGV into exit(1). */
	prctl(PR_SET_DUMPABLE, 0);
	signal(SIGSEGV, SIG_DFL);
	forbidden_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (forbidden_page == MAP_FAILED)
		_exit(3);
	snprintf(fdstr, sizeof(fdstr), "%d", memfd);
	setenv("FAULTGUARD_FD", fdstr, 1);
	w.sh = sh;
	w.r = r;
	pthread_mutex_init(&w.lock, NULL);
	w.fg = fg_open(&o);
	if (!w.fg) {
		snprintf(sh->msg, sizeof(sh->msg), "fg_open: %s", strerror(errno));
		atomic_store(&sh->failed, 1);
		_exit(3);
	}
	for (t = 0; t < r->threads; t++) {
		wt[t] = (struct wthread){.w = &w, .t = t, .rng = mix64(r->seed + (uint64_t)t)};
		wt[t].buf = malloc(MAX_VALUE);
		if (!wt[t].buf)
			_exit(3);
	}
	if (write(ready_fd, "r", 1) != 1)
		_exit(3);
	for (t = 1; t < r->threads; t++)
		if (pthread_create(&wt[t].tid, NULL, writer_thread, &wt[t]))
			_exit(3);
	writer_thread(&wt[0]);
}

/* --- the checks (in the parent, after the death) --------------------------------- */

/* What the lanes did, for the summary line (MAP_SHARED between the lanes and the test). */
struct tally {
	_Atomic unsigned long deaths[3];
	_Atomic unsigned long threaded;
	_Atomic unsigned long mid_op; /* deaths with an operation in flight */
	_Atomic unsigned long values; /* values found and checked */
};

struct lane {
	int id;
	struct tally *tally;
	int memfd;
	struct shared *sh;
	uint8_t *expect;
	uint64_t seed;
	unsigned long round;
	const struct round *r;
};

static void describe(char *buf, size_t len, const uint8_t *v, size_t n, unsigned kid)
{
	struct val_hdr h;
	uint64_t sum;

	if (n < sizeof(h)) {
		snprintf(buf, len, "%zu bytes, too short for a header", n);
		return;
	}
	memcpy(&h, v, sizeof(h));
	sum = fletcher(v + sizeof(h), n - sizeof(h),
		       fletcher(v, offsetof(struct val_hdr, sum), 1, 0), 0);
	snprintf(buf, len, "%zu bytes: magic %s, key id %u%s, seq %" PRIu64 "%s, len %u%s, %s%s", n,
		 h.magic == VAL_MAGIC ? "ok" : "BAD", h.kid, h.kid == kid ? "" : " (WRONG KEY)",
		 h.seq, "", h.len, h.len == n ? "" : " (WRONG LENGTH)",
		 sum == h.sum ? "checksum ok" : "CHECKSUM BAD (torn)",
		 h.flags & FLAG_DRAFT ? ", an uncommitted draft" : "");
}

/*
 * After a failure: every slot bound to the key, with both versions, and
 * the commit words, read raw from the memfd (the layout is dict/layout.h).
 */
static void dump_key(const struct lane *l, unsigned kid)
{
	const char *name = names[kid];
	size_t klen = strlen(name);
	struct dict_header h;
	uint64_t c[4];
	uint32_t i;

	if (pread(l->memfd, &h, sizeof(h), DICT_HDR_COPY_OFF(0)) != sizeof(h) ||
	    pread(l->memfd, c, sizeof(c), DICT_COMMIT_OFF) != sizeof(c))
		return;
	fprintf(stderr, "    commit words: txn %" PRIu64 " check %s, txn %" PRIu64 " check %s\n",
		c[0], c[1] == ~c[0] ? "ok" : "BAD", c[2], c[3] == ~c[2] ? "ok" : "BAD");
	for (i = 0; i < h.slot_count && i < (1u << 22); i++) {
		struct dict_slot sl;
		char key[256];
		int v;

		if (pread(l->memfd, &sl, sizeof(sl),
			  (off_t)(h.slot_off + (uint64_t)i * sizeof(sl))) != sizeof(sl) ||
		    sl.key_len != klen)
			continue;
		if (klen <= DICT_KEY_INLINE)
			memcpy(key, sl.key_inl, klen);
		else if (pread(l->memfd, key, klen, (off_t)(h.arena_off + sl.key_off)) !=
			 (ssize_t)klen)
			continue;
		if (memcmp(key, name, klen))
			continue;
		fprintf(stderr, "    slot %u: state %u\n", i, (unsigned)sl.state);
		for (v = 0; v < 2; v++)
			fprintf(stderr,
				"      ver[%d]: gen %" PRIu64 " txn %" PRIu64 " len %u crc %08x\n",
				v, (uint64_t)sl.ver[v].gen, sl.ver[v].txn, sl.ver[v].len,
				sl.ver[v].crc);
	}
}

static void fail_key(struct lane *l, unsigned kid, const struct prog *p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail_key(struct lane *l, unsigned kid, const struct prog *p, const char *fmt, ...)
{
	uint64_t done = atomic_load(&p->done), inflight = atomic_load(&p->inflight);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr,
		"  torture: seed 0x%016" PRIx64 " lane %d round %lu (%d thread(s), %s, "
		"crash step %" PRIu64 ", kill after %u us): key \"%s\": %s; "
		"last returned: %s %" PRIu64 ", in flight: %s %" PRIu64 "\n",
		l->seed, l->id, l->round, l->r->threads, death_name[l->r->death], l->r->crash_at,
		l->r->kill_us, names[kid], msg, OP_KIND(done) == OP_DEL ? "del" : "set",
		OP_SEQ(done), OP_KIND(inflight) == OP_DEL ? "del" : "set", OP_SEQ(inflight));
	dump_key(l, kid);
}

/* Which states a key's content is consistent with: after the last returned operation, after the one
 * in flight. */
#define AFTER_DONE 1
#define AFTER_INFLIGHT 2

/* Whether @v/@n (NULL when absent) is what operation @op leaves: its value, or nothing. */
static bool leaves(struct lane *l, unsigned kid, uint64_t op, const void *v, size_t n)
{
	if (!op || OP_KIND(op) == OP_DEL)
		return !v;
	return v && make_value(l->expect, kid, OP_SEQ(op), 0) == n && memcmp(v, l->expect, n) == 0;
}

/*
 * Checks one key against its progress words. Returns AFTER_DONE and/or
 * AFTER_INFLIGHT, the states its content matches (both when they look the
 * same, e.g. two empty values), or -1 after reporting a failure. *present
 * says whether the key is in the snapshot.
 */
static int check_key(struct lane *l, const struct fg_snapshot *s, unsigned kid,
		     const struct prog *p, bool *present)
{
	uint64_t done = atomic_load(&p->done), inflight = atomic_load(&p->inflight);
	const void *v = NULL;
	size_t n = 0;
	char why[256];
	int ok = 0;

	if (fg_snapshot_get(s, names[kid], &v, &n) != 0)
		v = NULL;
	*present = v != NULL;
	if (leaves(l, kid, done, v, n))
		ok |= AFTER_DONE;
	if (inflight != done && leaves(l, kid, inflight, v, n))
		ok |= AFTER_INFLIGHT;
	if (ok)
		return ok;
	if (!v) {
		fail_key(l, kid, p, "absent, but its last operation that returned was a set");
		return -1;
	}
	describe(why, sizeof(why), v, n, kid);
	fail_key(l, kid, p,
		 "holds a value that is neither the last returned nor the one in flight: %s", why);
	return -1;
}

static int check_dictionary(struct lane *l)
{
	const struct round *r = l->r;
	struct fg_snapshot *s;
	size_t discarded = 0, expected_entries = 0;
	int t, j, g, m, bad = 0;

	s = fg_snapshot_read_fd(l->memfd, &discarded);
	if (!s) {
		fprintf(stderr,
			"  torture: seed 0x%016" PRIx64 " lane %d round %lu: "
			"fg_snapshot_read_fd: %s\n",
			l->seed, l->id, l->round, strerror(errno));
		return 1;
	}
	if (discarded) {
		fprintf(stderr,
			"  torture: seed 0x%016" PRIx64 " lane %d round %lu: the reader "
			"discarded %zu versions\n",
			l->seed, l->id, l->round, discarded);
		bad++;
	}
	for (t = 0; t < r->threads; t++) {
		for (j = 0; j < r->nkeys; j++) {
			unsigned kid = kid_single(t, j);
			bool present;

			bad += check_key(l, s, kid, &l->sh->key[kid], &present) < 0;
			expected_entries += present;
		}
		/* A transaction: all four keys in the state after one and the same operation. */
		for (g = 0; g < r->ngroups; g++) {
			const struct prog *p = &l->sh->group[t][g];
			int common = AFTER_DONE | AFTER_INFLIGHT;

			for (m = 0; m < GROUP_KEYS; m++) {
				bool present;
				int got = check_key(l, s, kid_member(t, g, m), p, &present);

				if (got < 0) {
					bad++;
					break;
				}
				expected_entries += present;
				if (!(common & got)) {
					fail_key(
					    l, kid_member(t, g, m), p,
					    "transaction torn: this key is in the state after "
					    "the %s operation, the group's first keys after the "
					    "%s one",
					    got & AFTER_DONE ? "last returned" : "in-flight",
					    common & AFTER_DONE ? "last returned" : "in-flight");
					fprintf(stderr, "    the group's first key:\n");
					dump_key(l, kid_member(t, g, 0));
					bad++;
					break;
				}
				common &= got;
			}
		}
	}
	/* Nothing but the writer's keys. */
	atomic_fetch_add(&l->tally->values, expected_entries);
	if (!bad && fg_snapshot_count(s) != expected_entries) {
		fprintf(stderr,
			"  torture: seed 0x%016" PRIx64 " lane %d round %lu: %zu entries, "
			"expected %zu\n",
			l->seed, l->id, l->round, fg_snapshot_count(s), expected_entries);
		bad++;
	}
	fg_snapshot_close(s);
	return bad;
}

/* --- one death ------------------------------------------------------------------ */

static void plan_round(struct round *r, uint64_t *rng)
{
	uint64_t x = rnd_below(rng, 100);

	memset(r, 0, sizeof(*r));
	r->seed = rnd(rng);
	if (rnd_below(rng, 3) == 0) {
		r->threads = MAX_THREADS;
		r->nkeys = 10;
		r->ngroups = 2;
	} else {
		r->threads = 1;
		r->nkeys = KEYS_PER_THREAD;
		r->ngroups = GROUPS_PER_THREAD;
	}
	r->death = x < 50 ? DEATH_KILL : x < 80 ? DEATH_SEGV : DEATH_ABORT;
	r->crasher = (int)rnd_below(rng, (uint64_t)r->threads);
	r->crash_at = r->death == DEATH_KILL ? 0 : 1 + rnd_below(rng, SELF_CRASH_STEPS);
	r->kill_us = (unsigned)rnd_below(rng, KILL_MAX_US + 1);
}

/* Waits until the writer has died (its end of the pipe closes), at most @ms. */
static bool wait_death(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	for (;;) {
		int n = poll(&p, 1, ms);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		if (read(fd, &c, 1) <= 0)
			return true;
	}
}

/* Whether the writer died with an operation started but not returned. */
static bool in_flight(struct shared *sh)
{
	size_t i;
	int t, g;

	for (i = 0; i < MAX_KIDS; i++)
		if (atomic_load(&sh->key[i].inflight) != atomic_load(&sh->key[i].done))
			return true;
	for (t = 0; t < MAX_THREADS; t++)
		for (g = 0; g < GROUPS_PER_THREAD; g++)
			if (atomic_load(&sh->group[t][g].inflight) !=
			    atomic_load(&sh->group[t][g].done))
				return true;
	return false;
}

/* Returns 0, or 1 after printing why this round failed. */
static int run_round(struct lane *l)
{
	const struct round *r = l->r;
	int pfd[2], status, bad = 0;
	char c;
	pid_t pid;

	memset(l->sh, 0, sizeof(*l->sh));
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return 1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return 1;
	}
	if (pid == 0) {
		close(pfd[0]);
		writer_main(r, l->sh, l->memfd, pfd[1]);
		_exit(4);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) == 1) {
		if (r->death == DEATH_KILL) {
			struct timespec ts = {0, (long)r->kill_us * 1000};

			nanosleep(&ts, NULL);
			kill(pid, SIGKILL);
		}
		if (!wait_death(pfd[0], DEATH_TIMEOUT_MS)) {
			kill(pid, SIGKILL);
			fprintf(stderr,
				"  torture: seed 0x%016" PRIx64 " lane %d round %lu: the "
				"writer did not die at step %" PRIu64 "\n",
				l->seed, l->id, l->round, r->crash_at);
			bad++;
		}
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != death_signal[r->death]) {
		fprintf(stderr,
			"  torture: seed 0x%016" PRIx64 " lane %d round %lu: the writer "
			"ended with status 0x%x, not by %s%s%s\n",
			l->seed, l->id, l->round, status, death_name[r->death],
			l->sh->failed ? ": " : "", l->sh->failed ? l->sh->msg : "");
		return 1;
	}
	atomic_fetch_add(&l->tally->deaths[r->death], 1);
	atomic_fetch_add(&l->tally->threaded, r->threads > 1);
	atomic_fetch_add(&l->tally->mid_op, in_flight(l->sh));
	return bad + check_dictionary(l);
}

/* A lane: one dictionary, rounds one after another. Exits with the failure count. */
static void lane_main(int id, uint64_t seed, unsigned long rounds, struct tally *tally)
{
	struct lane l = {.id = id, .seed = seed, .tally = tally};
	uint64_t rng = mix64(seed ^ (uint64_t)id << 56);
	struct round r;

	l.memfd = fg_memfd_create("torture", DICT_BYTES);
	l.sh = mmap(NULL, sizeof(*l.sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	l.expect = malloc(MAX_VALUE);
	if (l.memfd < 0 || l.sh == MAP_FAILED || !l.expect) {
		fprintf(stderr, "  torture lane %d: setup failed\n", id);
		_exit(1);
	}
	l.r = &r;
	for (l.round = 0; l.round < rounds; l.round++) {
		plan_round(&r, &rng);
		if (run_round(&l)) {
			fflush(stderr);
			_exit(1);
		}
	}
	_exit(0);
}

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long x;

	if (!v || !*v)
		return def;
	errno = 0;
	x = strtoul(v, &end, 0);
	return errno || *end ? def : x;
}

TEST(crash_torture)
{
	unsigned long kills = env_ulong("FG_TORTURE_KILLS", DEFAULT_KILLS);
	struct timespec ts, te;
	uint64_t seed;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int lanes, i, failed = 0, status;
	pid_t pids[MAX_LANES];
	struct tally *tally;

	clock_gettime(CLOCK_REALTIME, &ts);
	seed = env_ulong("FG_TORTURE_SEED",
			 mix64((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
			     (uint64_t)getpid());
	make_names();
	tally =
	    mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!ASSERT_TRUE(tally != MAP_FAILED, "mmap the tally"))
		return;
	memset(tally, 0, sizeof(*tally));
	/* One lane more than cores: a lane's parent sleeps while its writer runs. */
	lanes = ncpu < 1 ? 2 : ncpu + 1 > MAX_LANES ? MAX_LANES : (int)ncpu + 1;
	if ((unsigned long)lanes > kills)
		lanes = kills ? (int)kills : 1;
	printf("  torture: %lu kills in %d lanes, seed 0x%016" PRIx64
	       " (FG_TORTURE_SEED=0x%016" PRIx64 " repeats it)\n",
	       kills, lanes, seed, seed);
	fflush(NULL);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (i = 0; i < lanes; i++) {
		unsigned long share = kills / (unsigned long)lanes +
				      ((unsigned long)i < kills % (unsigned long)lanes);

		pids[i] = fork();
		if (!ASSERT_GE(pids[i], 0, "fork a lane"))
			return;
		if (pids[i] == 0)
			lane_main(i, seed, share, tally);
	}
	for (i = 0; i < lanes; i++) {
		while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	clock_gettime(CLOCK_MONOTONIC, &te);
	printf("  torture: %lu kills in %.1f s (%lu SIGKILL, %lu SIGSEGV, %lu abort; %lu in "
	       "multi-threaded writers; %lu with an operation in flight), %lu values checked, "
	       "%d lane(s) failed\n",
	       kills, (double)(te.tv_sec - ts.tv_sec) + (te.tv_nsec - ts.tv_nsec) / 1e9,
	       tally->deaths[DEATH_KILL], tally->deaths[DEATH_SEGV], tally->deaths[DEATH_ABORT],
	       tally->threaded, tally->mid_op, tally->values, failed);
	ASSERT_EQ(failed, 0, "lanes whose dictionary broke the crash-safety contract");
}
