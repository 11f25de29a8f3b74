/* SPDX-License-Identifier: MIT */
/* Which Redis replies rate-limiting believes: the bytes a server might send, parsed by hiredis's
 * own reader as the connection parses them, then judged by tr_rl_redis_reply_ok. */
#include "plugins/rl_redis.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "check.h"

/* Parse the single reply in resp with hiredis; NULL when hiredis finds none or an error. */
static redisReply *parse(const char *resp)
{
    redisReader *r = redisReaderCreate();
    void *reply = NULL;
    redisReaderFeed(r, resp, strlen(resp));
    if (redisReaderGetReply(r, &reply) != REDIS_OK)
        reply = NULL;
    redisReaderFree(r);
    return reply;
}

static int judged(const char *resp, enum tr_rl_redis_cmd cmd, int64_t *count)
{
    redisReply *reply = parse(resp);
    const char *why = NULL;
    bool ok = tr_rl_redis_reply_ok(reply, cmd, count, &why);
    if (!ok && why == NULL)
        fprintf(stderr, "  %s refused without a reason\n", resp);
    freeReplyObject(reply);
    return ok;
}

static void test_incrby(void)
{
    int64_t n = 0;
    TR_CHECK(judged(":1\r\n", TR_RL_REDIS_INCRBY, &n));
    TR_CHECK_INT(n, 1);
    TR_CHECK(judged(":4096\r\n", TR_RL_REDIS_INCRBY, &n));
    TR_CHECK_INT(n, 4096);
    TR_CHECK(judged(":9007199254740991\r\n", TR_RL_REDIS_INCRBY, &n));
    TR_CHECK_INT(n, TR_RL_REDIS_MAX_COUNT);

    static const char *const bad[] = {
        ":0\r\n",                    /* INCRBY 1 never gives 0 */
        ":-5\r\n",                   /* negative */
        ":-9223372036854775808\r\n", /* the one value whose minus one overflows */
        ":9007199254740992\r\n",     /* 2^53 */
        ":9223372036854775807\r\n",  /* INT64_MAX */
        ":99999999999999999999\r\n", /* over 64 bits, whatever hiredis makes of it */
        "$3\r\nabc\r\n",             /* a string */
        "$1\r\n5\r\n",               /* a number as a string */
        "+OK\r\n",                   /* a status */
        "-ERR wrong\r\n",            /* an error */
        "$-1\r\n",                   /* nil */
        "*2\r\n:1\r\n:1\r\n",        /* an array of integers */
        "*1\r\n:1\r\n",
        "*0\r\n",
        "*-1\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 77;
        bool ok = judged(bad[i], TR_RL_REDIS_INCRBY, &n);
        if (ok)
            fprintf(stderr, "  accepted %s\n", bad[i]);
        TR_CHECK(!ok);
        TR_CHECK_INT(n, 77); /* untouched */
    }
    TR_CHECK(!tr_rl_redis_reply_ok(NULL, TR_RL_REDIS_INCRBY, &n, NULL));
}

static void test_expire_and_setup(void)
{
    TR_CHECK(judged(":1\r\n", TR_RL_REDIS_EXPIRE, NULL));
    TR_CHECK(judged(":0\r\n", TR_RL_REDIS_EXPIRE, NULL));
    static const char *const bad_expire[] = {":2\r\n",     ":-1\r\n",     ":-2\r\n",     "+OK\r\n",
                                             "-ERR x\r\n", "$1\r\n1\r\n", "*1\r\n:1\r\n"};
    for (size_t i = 0; i < sizeof(bad_expire) / sizeof(bad_expire[0]); i++)
        TR_CHECK(!judged(bad_expire[i], TR_RL_REDIS_EXPIRE, NULL));

    TR_CHECK(judged("+OK\r\n", TR_RL_REDIS_SETUP, NULL));
    static const char *const bad_setup[] = {
        "+OKAY\r\n", "+QUEUED\r\n", "-ERR invalid password\r\n", ":1\r\n", "$2\r\nOK\r\n", "+\r\n"};
    for (size_t i = 0; i < sizeof(bad_setup) / sizeof(bad_setup[0]); i++)
        TR_CHECK(!judged(bad_setup[i], TR_RL_REDIS_SETUP, NULL));
}

int main(void)
{
    test_incrby();
    test_expire_and_setup();
    return TR_CHECK_DONE();
}
