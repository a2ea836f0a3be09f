/*
 * plugins/stores/postgres/pg_spool.c - the disk spool of the PostgreSQL
 * store: while the server is unreachable, batches are written to files
 * under <data_dir>/pg_spool/ and a thread writes them through, oldest
 * first, once the server is back. Only batches without outbox entries are
 * spooled (pg_write.c says why); the files hold events only.
 *
 * One file per batch, named by a sequence number, holding the batch's
 * rows in COPY text format, exactly what the online path sends, so a
 * drained file is COPY'd as is. A file is written as NNN.tmp, fsync'ed,
 * renamed to NNN.copy and the directory fsync'ed (spool_sync: batch):
 * once pg_spool_append() returns 0 the batch survives a crash or power
 * loss, so the store may acknowledge it. Leftover .tmp files (a crash
 * mid-write, never acknowledged) are removed at open. A file is deleted
 * only after its transaction committed; a crash between the commit and
 * the unlink replays it, which the id conflict rule makes harmless.
 * A file PostgreSQL refuses five times for a reason other than the
 * connection is renamed NNN.bad and skipped (logged), so one bad batch
 * cannot hold up everything behind it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pg_store.h"

#define RETRY_MS 500      /* between drain attempts while the server is down */
#define BAD_AFTER 5       /* refusals before a file is set aside */

struct spool {
	struct store *s;
	char dir[PATH_MAX - 32];
	int dirfd;
	struct sbuf buf; /* append's COPY text; used by the store thread only */

	/* lock guards everything below; cond wakes the drainer */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t head, next; /* files head..next-1 wait (some may be gone) */
	uint64_t bytes;
	bool stop;
	pthread_t thread;
	bool running;
};

static void file_name(const struct spool *sp, uint64_t seq, const char *ext, char *out,
		      size_t len)
{
	snprintf(out, len, "%s/%020" PRIu64 ".%s", sp->dir, seq, ext);
}

static bool must_sync(const struct spool *sp)
{
	return sp->s->cfg->spool_sync == SPOOL_SYNC_BATCH;
}

/* ---- opening -------------------------------------------------------------------- */

struct spool *pg_spool_open(struct store *s, const char *dir, char *err, size_t errlen)
{
	struct spool *sp = calloc(1, sizeof *sp);
	DIR *d = NULL;
	struct dirent *e;
	uint64_t lo = UINT64_MAX, hi = 0;

	if (!sp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sp->s = s;
	sp->dirfd = -1;
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->cond, NULL);
	if ((size_t)snprintf(sp->dir, sizeof sp->dir, "%s/pg_spool", dir) >= sizeof sp->dir) {
		snprintf(err, errlen, "spool directory %s/pg_spool: path too long", dir);
		goto fail;
	}
	if (mkdir(sp->dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create spool directory %s: %s", sp->dir,
			 strerror(errno));
		goto fail;
	}
	sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = sp->dirfd >= 0 ? opendir(sp->dir) : NULL;
	if (!d) {
		snprintf(err, errlen, "cannot open spool directory %s: %s", sp->dir,
			 strerror(errno));
		goto fail;
	}
	while ((e = readdir(d))) {
		uint64_t seq;
		char ext[8], path[PATH_MAX];
		struct stat st;
		if (sscanf(e->d_name, "%20" SCNu64 ".%7s", &seq, ext) != 2)
			continue;
		file_name(sp, seq, ext, path, sizeof path);
		if (strcmp(ext, "tmp") == 0) {
			unlink(path); /* never acknowledged */
		} else if (strcmp(ext, "copy") == 0 && stat(path, &st) == 0) {
			lo = seq < lo ? seq : lo;
			hi = seq > hi ? seq : hi;
			sp->bytes += (uint64_t)st.st_size;
		} else if (strcmp(ext, "bad") == 0) {
			hi = seq > hi ? seq : hi; /* never reuse its number */
		}
	}
	closedir(d);
	sp->next = hi + 1;
	sp->head = lo == UINT64_MAX ? sp->next : lo;
	if (sp->head < sp->next)
		s->host->log(s->inst, RFX_LOG_WARNING,
			     "spool %s holds %" PRIu64 " batches (%" PRIu64 " bytes) from before; "
			     "they are written to PostgreSQL first",
			     sp->dir, sp->next - sp->head, sp->bytes);
	return sp;
fail:
	pg_spool_close(sp);
	return NULL;
}

/* ---- appending ------------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int pg_spool_append(struct spool *sp, rfx_event *const *events, size_t n)
{
	struct store *s = sp->s;
	char tmp[PATH_MAX], path[PATH_MAX];
	uint64_t seq;
	int rc, fd = -1;

	pthread_mutex_lock(&s->write_lock); /* row_build's buffers */
	rc = pg_copy_build(s, &sp->buf, events, n);
	pthread_mutex_unlock(&s->write_lock);
	if (rc != 0)
		return rc;

	pthread_mutex_lock(&sp->lock);
	if (sp->bytes + sp->buf.len > s->cfg->spool_max) {
		pthread_mutex_unlock(&sp->lock);
		s->host->log(s->inst, RFX_LOG_ERROR,
			     "spool %s is full (spool_max %" PRIu64 " bytes): batch of %zu events "
			     "refused until PostgreSQL is back",
			     sp->dir, s->cfg->spool_max, n);
		return RFX_EFULL;
	}
	seq = sp->next;
	pthread_mutex_unlock(&sp->lock);

	rc = RFX_EIO;
	file_name(sp, seq, "tmp", tmp, sizeof tmp);
	file_name(sp, seq, "copy", path, sizeof path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, sp->buf.p, sp->buf.len) != 0 ||
	    (must_sync(sp) && fsync(fd) != 0)) {
		s->host->log(s->inst, RFX_LOG_ERROR, "spool: cannot write %s: %s", tmp,
			     strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0 || (must_sync(sp) && fsync(sp->dirfd) != 0)) {
		s->host->log(s->inst, RFX_LOG_ERROR, "spool: cannot commit %s: %s", path,
			     strerror(errno));
		goto out;
	}
	pthread_mutex_lock(&sp->lock);
	sp->next = seq + 1;
	sp->bytes += sp->buf.len;
	pthread_cond_signal(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	if (sp->buf.cap > 16u << 20)
		sbuf_free(&sp->buf);
	return rc;
}

bool pg_spool_pending(struct spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	bool pending = sp->head < sp->next;
	pthread_mutex_unlock(&sp->lock);
	return pending;
}

/* ---- draining ------------------------------------------------------------------- */

/* Waits up to ms or until stopped; lock held. */
static void wait_ms(struct spool *sp, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&sp->cond, &sp->lock, &ts);
}

/* Reads a whole file into *text. 0, RFX_ENOENT, RFX_EIO, RFX_ENOMEM. */
static int read_file(const char *path, char **text, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = RFX_EIO;
	char *p = NULL;
	size_t got = 0;

	if (fd < 0)
		return errno == ENOENT ? RFX_ENOENT : RFX_EIO;
	if (fstat(fd, &st) != 0)
		goto out;
	rc = RFX_ENOMEM;
	p = malloc((size_t)st.st_size + 1);
	if (!p)
		goto out;
	rc = RFX_EIO;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	p[got] = '\0';
	*text = p;
	*len = got;
	p = NULL;
	rc = 0;
out:
	free(p);
	close(fd);
	return rc;
}

static void *drain_main(void *arg)
{
	struct spool *sp = arg;
	struct store *s = sp->s;
	int refusals = 0;

	pthread_mutex_lock(&sp->lock);
	while (!sp->stop) {
		if (sp->head >= sp->next) {
			wait_ms(sp, 1000);
			continue;
		}
		uint64_t seq = sp->head;
		pthread_mutex_unlock(&sp->lock);

		char path[PATH_MAX], bad[PATH_MAX], *text = NULL;
		size_t len = 0;
		bool done = false, retry_later = false;
		file_name(sp, seq, "copy", path, sizeof path);
		int rc = read_file(path, &text, &len);
		if (rc == RFX_ENOENT) {
			done = true;
		} else if (rc != 0) {
			s->host->log(s->inst, RFX_LOG_ERROR, "spool: cannot read %s", path);
			retry_later = true;
		} else {
			struct conn *c = pg_conn_take(s);
			if (!c) {
				retry_later = true;
			} else {
				rc = pg_copy_write(s, c, text, len);
				bool lost = rc != 0 && pg_conn_lost(c);
				pg_conn_give(s, c, lost);
				if (rc == 0) {
					size_t rows = 0;
					for (size_t i = 0; i < len; i++)
						rows += text[i] == '\n';
					unlink(path);
					s->host->metric_add(s->m_drained, (double)rows);
					done = true;
					refusals = 0;
				} else if (!lost && ++refusals >= BAD_AFTER) {
					file_name(sp, seq, "bad", bad, sizeof bad);
					rename(path, bad);
					s->host->log(s->inst, RFX_LOG_ERROR,
						     "spool: PostgreSQL refused %s %d times; set aside "
						     "as %s", path, BAD_AFTER, bad);
					done = true;
					refusals = 0;
				} else {
					retry_later = true;
				}
			}
		}
		free(text);
		pthread_mutex_lock(&sp->lock);
		if (done) {
			sp->head = seq + 1;
			sp->bytes = sp->bytes > len ? sp->bytes - len : 0;
			if (sp->head >= sp->next)
				s->host->log(s->inst, RFX_LOG_INFO,
					     "spool drained: PostgreSQL has every spooled event");
		} else if (retry_later) {
			wait_ms(sp, RETRY_MS);
		}
	}
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

int pg_spool_start(struct spool *sp)
{
	if (pthread_create(&sp->thread, NULL, drain_main, sp) != 0)
		return RFX_ENOMEM;
	sp->running = true;
	return 0;
}

void pg_spool_close(struct spool *sp)
{
	if (!sp)
		return;
	if (sp->running) {
		pthread_mutex_lock(&sp->lock);
		sp->stop = true;
		pthread_cond_signal(&sp->cond);
		pthread_mutex_unlock(&sp->lock);
		pthread_join(sp->thread, NULL);
	}
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->cond);
	sbuf_free(&sp->buf);
	free(sp);
}
