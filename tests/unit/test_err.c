/* SPDX-License-Identifier: MIT */
/* The error table (core/err.h) is the only source of the status and message of every failure
 * torii answers, so its rows are checked here: unique values, real statuses, messages present,
 * the lookups agree with the table, and one condition has one spelling. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "core/err.h"

struct row {
    int code;
    int status;
    const char *name;
    const char *message;
};

static const struct row rows[] = {
#define ROW(sym, val, status, msg) {val, status, #sym, msg},
    TR_ERR_MAP(ROW)
#undef ROW
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* msg folded to what distinguishes one condition from another: lower case, letters and digits
 * only, without the small words a second spelling tends to add or drop ("The database is
 * unavailable" and "Database unavailable" fold to the same text). */
static void fold(const char *msg, char *out, size_t len)
{
    static const char *const small[] = {"the", "a", "an", "is", "are", "was", "currently", NULL};
    size_t o = 0;
    const char *p = msg;
    while (*p != '\0') {
        while (*p != '\0' && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        while (isalnum((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - w);
        if (n == 0)
            break;
        bool skip = false;
        for (size_t i = 0; small[i] != NULL; i++)
            skip = skip || (strlen(small[i]) == n && strncasecmp(small[i], w, n) == 0);
        for (size_t i = 0; !skip && i < n && o + 1 < len; i++)
            out[o++] = (char)tolower((unsigned char)w[i]);
    }
    out[o] = '\0';
}

static bool mentions(const char *msg, const char *word)
{
    char folded[256];
    fold(msg, folded, sizeof(folded));
    return strstr(folded, word) != NULL;
}

static void test_rows(void)
{
    TR_CHECK(NROWS > 0);
    for (size_t i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        TR_CHECK(r->code < 0);
        TR_CHECK(r->message != NULL && r->message[0] != '\0');
        if (r->code == TR_EAGAIN || r->code == TR_EOF) /* signals, never answers */
            TR_CHECK_INT(r->status, 0);
        else
            TR_CHECK(r->status >= 100 && r->status <= 599);
        for (size_t j = i + 1; j < NROWS; j++) {
            TR_CHECK(rows[j].code != r->code);
            TR_CHECK(strcmp(rows[j].name, r->name) != 0);
        }
        /* The lookups answer what the row says. */
        TR_CHECK_STR(tr_err_name(r->code), r->name);
        TR_CHECK_STR(tr_err_message(r->code), r->message);
        TR_CHECK_INT(tr_err_status(r->code), r->status);
    }
    TR_CHECK_INT(TR_EAGAIN, -1); /* parsers and their callers rely on it */
}

static void test_unknown(void)
{
    TR_CHECK_STR(tr_err_name(0), "EUNKNOWN");
    TR_CHECK_STR(tr_err_name(1), "EUNKNOWN");
    TR_CHECK_STR(tr_err_name(-100000), "EUNKNOWN");
    TR_CHECK_STR(tr_err_message(-100000), "An unexpected error occurred");
    TR_CHECK_INT(tr_err_status(-100000), 500);
}

/* Two rows with one status whose messages differ only in spelling would be one condition
 * written twice: a client (or a test) could not rely on either text. */
static void test_one_spelling(void)
{
    for (size_t i = 0; i < NROWS; i++) {
        for (size_t j = i + 1; j < NROWS; j++) {
            if (rows[i].status != rows[j].status || strcmp(rows[i].message, rows[j].message) == 0)
                continue;
            char a[256], b[256];
            fold(rows[i].message, a, sizeof(a));
            fold(rows[j].message, b, sizeof(b));
            if (strcmp(a, b) == 0) {
                fprintf(stderr, "%s and %s: \"%s\" and \"%s\" are one message\n", rows[i].name,
                        rows[j].name, rows[i].message, rows[j].message);
            }
            TR_CHECK(strcmp(a, b) != 0);
        }
    }
    /* The database being out of reach is one row (it had three spellings once), and the only
     * row that names the database. */
    size_t db = 0;
    for (size_t i = 0; i < NROWS; i++) {
        if (mentions(rows[i].message, "database")) {
            db++;
            TR_CHECK_INT(rows[i].code, TR_EDBUNAVAIL);
        }
    }
    TR_CHECK_INT(db, 1);
    TR_CHECK_INT(tr_err_status(TR_EDBUNAVAIL), 503);
}

/* Texts clients and Kong's tools compare: they must not drift. */
static void test_kong_texts(void)
{
    TR_CHECK_STR(tr_err_message(TR_ENOTFOUND), "Not found");
    TR_CHECK_STR(tr_err_message(TR_EMETHOD), "Method not allowed");
    TR_CHECK_STR(tr_err_message(TR_EINTERNAL), "An unexpected error occurred");
    TR_CHECK_STR(tr_err_message(TR_EUNAVAIL), "The upstream server is currently unavailable");
    TR_CHECK_STR(tr_err_message(TR_EUPSTREAM_TIMEOUT), "The upstream server is timing out");
    TR_CHECK_STR(tr_err_message(TR_ENOROUTE), "API not found with these values");
    TR_CHECK_STR(tr_err_message(TR_EPLUGINEXISTS), "Plugin configuration already exists");
    TR_CHECK_STR(tr_err_message(TR_ENOPEER), "failure to get a peer from the ring-balancer");
    TR_CHECK_INT(tr_err_status(TR_ENOPEER), 503);
}

int main(void)
{
    test_rows();
    test_unknown();
    test_one_spelling();
    test_kong_texts();
    return TR_CHECK_DONE();
}
