/* SPDX-License-Identifier: MIT */
/* bot-detection (Kong 3.9, priority 2500): the User-Agent is checked against the config's
 * allow regexes (a match passes), then its deny regexes, then Kong's list of known bots (a
 * match is 403 {"message":"Forbidden"}). A request sending User-Agent twice is 400 {"message":
 * "Only one User-Agent header allowed"}; one without it passes. Regexes are PCRE2 (Kong's
 * ngx.re), unanchored, compiled and JIT-compiled once: the config's per snapshot, the bot list
 * once per process. Each worker remembers the verdict for recently seen agents (Kong's LRU of
 * 10,000 per config), so a busy route matches a given agent once. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "core/err.h"
#include "core/mem.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

/* Kong's rules.lua ("List taken from ua-parser's uap-core regexes.yaml"), as Kong bundles it. */
static const char *const bot_rules[] = {
    "(Pingdom\\.com_bot_version_)(\\d+)\\.(\\d+)",
    "(facebookexternalhit)/(\\d+)\\.(\\d+)",
    "Google.*/\\+/web/snippet",
    "(Twitterbot)/(\\d+)\\.(\\d+)",
    "\\b(Boto3?|JetS3t|aws-(?:cli|sdk-(?:cpp|go|java|nodejs|ruby2?|dotnet-(?:\\d{1,2}|core)))|"
    "s3fs)/(\\d+)\\.(\\d+)(?:\\.(\\d+)|)",
    " PTST/\\d+(?:\\.)?\\d+$",
    "/((?:Ant-)?Nutch|[A-z]+[Bb]ot|[A-z]+[Ss]pider|Axtaris|fetchurl|Isara|ShopSalad|Tailsweep)"
    "[ \\-](\\d+)(?:\\.(\\d+)(?:\\.(\\d+))?)?",
    "\\b(008|Altresium|Argus|BaiduMobaider|BoardReader|DNSGroup|DataparkSearch|EDI|Goodzer|Grub|"
    "INGRID|Infohelfer|LinkedInBot|LOOQ|Nutch|OgScrper|PathDefender|Peew|PostPost|Steeler|"
    "Twitterbot|VSE|WebCrunch|WebZIP|Y!J-BR[A-Z]|YahooSeeker|envolk|sproose|wminer)/(\\d+)"
    "(?:\\.(\\d+)|)(?:\\.(\\d+)|)",
    "(MSIE) (\\d+)\\.(\\d+)([a-z]\\d|[a-z]|);.* MSIECrawler",
    "(Google-HTTP-Java-Client|Apache-HttpClient|Go-http-client|scalaj-http|http%20client|"
    "Python-urllib|HttpMonitor|TLSProber|WinHTTP|JNLP|okhttp|aihttp|reqwest|axios|"
    "unirest-(?:java|python|ruby|nodejs|php|net))(?:[ /](\\d+)(?:\\.(\\d+)|)(?:\\.(\\d+)|)|)",
    "(CSimpleSpider|Cityreview Robot|CrawlDaddy|CrawlFire|Finderbots|Index crawler|Job Roboter|"
    "KiwiStatus Spider|Lijit Crawler|QuerySeekerSpider|ScollSpider|Trends Crawler|"
    "USyd-NLP-Spider|SiteCat Webbot|BotName\\/\\$BotVersion|123metaspider-Bot|1470\\.net crawler|"
    "50\\.nu|8bo Crawler Bot|Aboundex|Accoona-[A-z]{1,30}-Agent|AdsBot-Google(?:-[a-z]{1,30}|)|"
    "altavista|AppEngine-Google|archive.{0,30}\\.org_bot|archiver|Ask Jeeves|"
    "[Bb]ai[Dd]u[Ss]pider(?:-[A-Za-z]{1,30})(?:-[A-Za-z]{1,30}|)|bingbot|BingPreview|blitzbot|"
    "BlogBridge|Bloglovin|BoardReader Blog Indexer|BoardReader Favicon Fetcher|boitho.com-dc|"
    "BotSeer|BUbiNG|\\b\\w{0,30}favicon\\w{0,30}\\b|\\bYeti(?:-[a-z]{1,30}|)|"
    "Catchpoint(?: bot|)|[Cc]harlotte|Checklinks|clumboot|Comodo HTTP\\(S\\) Crawler|"
    "Comodo-Webinspector-Crawler|ConveraCrawler|CRAWL-E|CrawlConvera|"
    "Daumoa(?:-feedfetcher|)|Feed Seeker Bot|Feedbin|findlinks|Flamingo_SearchEngine|"
    "FollowSite Bot|furlbot|Genieo|gigabot|GomezAgent|gonzo1|"
    "(?:[a-zA-Z]{1,30}-|)Googlebot(?:-[a-zA-Z]{1,30}|)|Google SketchUp|grub-client|gsa-crawler|"
    "heritrix|HiddenMarket|holmes|HooWWWer|htdig|ia_archiver|ICC-Crawler|Icarus6j|"
    "ichiro(?:/mobile|)|IconSurf|IlTrovatore(?:-Setaccio|)|InfuzApp|Innovazion Crawler|"
    "InternetArchive|IP2[a-z]{1,30}Bot|jbot\\b|KaloogaBot|Kraken|Kurzor|larbin|LEIA|LesnikBot|"
    "Linguee Bot|LinkAider|LinkedInBot|Lite Bot|Llaut|lycos|Mail\\.RU_Bot|masscan|masidani_bot|"
    "Mediapartners-Google|Microsoft .{0,30} Bot|mogimogi|mozDex|MJ12bot|"
    "msnbot(?:-media {0,2}|)|msrbot|Mtps Feed Aggregation System|netresearch|Netvibes|"
    "NewsGator[^/]{0,30}|^NING|Nutch[^/]{0,30}|Nymesis|ObjectsSearch|OgScrper|Orbiter|OOZBOT|"
    "PagePeeker|PagesInventory|PaxleFramework|Peeplo Screenshot Bot|PlantyNet_WebRobot|Pompos|"
    "Qwantify|Read%20Later|Reaper|RedCarpet|Retreiver|Riddler|Rival IQ|scooter|Scrapy|Scrubby|"
    "searchsight|seekbot|semanticdiscovery|SemrushBot|Simpy|SimplePie|SEOstats|SimpleRSS|"
    "SiteCon|Slackbot-LinkExpanding|Slack-ImgProxy|Slurp|snappy|Speedy Spider|Squrl Java|"
    "Stringer|TheUsefulbot|ThumbShotsBot|Thumbshots\\.ru|Tiny Tiny RSS|Twitterbot|WhatsApp|"
    "URL2PNG|Vagabondo|VoilaBot|^vortex|Votay bot|^voyager|WASALive.Bot|Web-sniffer|WebThumb|"
    "WeSEE:[A-z]{1,30}|WhatWeb|WIRE|WordPress|Wotbox|www\\.almaden\\.ibm\\.com|"
    "Xenu(?:.s|) Link Sleuth|Xerka [A-z]{1,30}Bot|yacy(?:bot|)|YahooSeeker|Yahoo! Slurp|"
    "Yandex\\w{1,30}|YodaoBot(?:-[A-z]{1,30}|)|YottaaMonitor|Yowedo|^Zao|^Zao-Crawler|"
    "ZeBot_www\\.ze\\.bz|ZooShot|ZyBorg)(?:[ /]v?(\\d+)(?:\\.(\\d+)(?:\\.(\\d+)|)|)|)",
    "(?:\\/[A-Za-z0-9\\.]+|) {0,5}([A-Za-z0-9 \\-_\\!\\[\\]:]{0,50}(?:[Aa]rchiver|[Ii]ndexer|"
    "[Ss]craper|[Bb]ot|[Ss]pider|[Cc]rawl[a-z]{0,50}))[/ ](\\d+)(?:\\.(\\d+)(?:\\.(\\d+)|)|)",
    "(?:\\/[A-Za-z0-9\\.]+|) {0,5}([A-Za-z0-9 \\-_\\!\\[\\]:]{0,50}(?:[Aa]rchiver|[Ii]ndexer|"
    "[Ss]craper|[Bb]ot|[Ss]pider|[Cc]rawl[a-z]{0,50})) (\\d+)(?:\\.(\\d+)(?:\\.(\\d+)|)|)",
    "((?:[A-z0-9]{1,50}|[A-z\\-]{1,50} ?|)(?: the |)(?:[Ss][Pp][Ii][Dd][Ee][Rr]|[Ss]crape|"
    "[Cc][Rr][Aa][Ww][Ll])[A-z0-9]{0,50})(?:(?:[ /]| v)(\\d+)(?:\\.(\\d+)|)(?:\\.(\\d+)|)|)",
};

#define NUM_BOT_RULES (sizeof(bot_rules) / sizeof(bot_rules[0]))
#define VERDICT_SLOTS 4096 /* per worker: agents whose verdict is remembered */
#define MAX_REMEMBERED_AGENT 256

enum verdict { V_NONE = 0, V_PASS, V_DENY };

struct regexes {
    pcre2_code **re;
    size_t n;
};

struct bot_conf {
    struct regexes allow, deny;
};

static struct regexes bots;
static pthread_once_t bots_once = PTHREAD_ONCE_INIT;

static pcre2_code *compile(const char *pattern, char *msg, size_t msg_len)
{
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &errcode, &erroff, NULL);
    if (re == NULL) {
        snprintf(msg, msg_len, "not a valid regex: %s", pattern);
        return NULL;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter serves if JIT fails */
    return re;
}

static void compile_bots(void)
{
    char msg[64];
    bots.re = tr_xcalloc(NUM_BOT_RULES, sizeof(*bots.re));
    for (size_t i = 0; i < NUM_BOT_RULES; i++) {
        pcre2_code *re = compile(bot_rules[i], msg, sizeof(msg));
        if (re == NULL) /* a constant of this file: a programming error, caught by any test */
            abort();
        bots.re[bots.n++] = re;
    }
}

/* ---- schema ------------------------------------------------------------------------------- */

static int check_regexes(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(rec, name), i, item)
    {
        pcre2_code *re = compile(json_string_value(item), msg, msg_len);
        if (re == NULL)
            return TR_EINVAL;
        pcre2_code_free(re);
    }
    return 0;
}

static const struct tr_schema_field conf_fields[] = {
    {.name = "allow",
     .type = TR_SCHEMA_ARRAY,
     .dflt = "[]",
     .check = check_regexes,
     .help = "regexes of User-Agents let through"},
    {.name = "deny",
     .type = TR_SCHEMA_ARRAY,
     .dflt = "[]",
     .check = check_regexes,
     .help = "regexes of User-Agents refused (403)"},
};

static const struct tr_schema conf_schema = {
    .name = "bot-detection",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
};

/* ---- config ------------------------------------------------------------------------------- */

static void free_regexes(struct regexes *r)
{
    for (size_t i = 0; i < r->n; i++)
        pcre2_code_free(r->re[i]);
    free(r->re);
}

static void conf_free(void *p)
{
    struct bot_conf *c = p;
    if (c == NULL)
        return;
    free_regexes(&c->allow);
    free_regexes(&c->deny);
    free(c);
}

static bool compile_list(const json_t *arr, struct regexes *out, char *err, size_t err_len)
{
    out->re = tr_xcalloc(json_array_size(arr) + 1, sizeof(*out->re));
    size_t i;
    const json_t *item;
    json_array_foreach(arr, i, item)
    {
        const char *s = json_string_value(item);
        if (s == NULL)
            continue;
        pcre2_code *re = compile(s, err, err_len);
        if (re == NULL)
            return false;
        out->re[out->n++] = re;
    }
    return true;
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    pthread_once(&bots_once, compile_bots);
    struct bot_conf *c = tr_xcalloc(1, sizeof(*c));
    if (!compile_list(json_object_get(config, "allow"), &c->allow, err, err_len) ||
        !compile_list(json_object_get(config, "deny"), &c->deny, err, err_len)) {
        conf_free(c);
        return NULL;
    }
    return c;
}

/* ---- requests ----------------------------------------------------------------------------- */

/* A worker's memory of verdicts: a direct-mapped table keyed by (config, agent). */
struct remembered {
    const void *conf;
    uint64_t version;
    uint32_t len;
    enum verdict verdict;
    char agent[MAX_REMEMBERED_AGENT];
};

struct worker_state {
    pcre2_match_data *md;
    struct remembered slots[VERDICT_SLOTS];
};

static bool any_match(const struct regexes *r, struct tr_str s, pcre2_match_data *md)
{
    for (size_t i = 0; i < r->n; i++) {
        if (pcre2_match(r->re[i], (PCRE2_SPTR)s.ptr, s.len, 0, 0, md, NULL) >= 0)
            return true;
    }
    return false;
}

static enum verdict examine(const struct bot_conf *c, struct tr_str agent, pcre2_match_data *md)
{
    if (any_match(&c->allow, agent, md))
        return V_PASS;
    if (any_match(&c->deny, agent, md) || any_match(&bots, agent, md))
        return V_DENY;
    return V_PASS;
}

static uint64_t hash(const void *conf, struct tr_str s)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)conf;
    for (size_t i = 0; i < s.len; i++)
        h = (h ^ (unsigned char)s.ptr[i]) * 1099511628211ull;
    return h;
}

static int bot_access(struct tr_ctx *ctx, const void *conf)
{
    const struct bot_conf *c = conf;
    struct tr_str agent, second;
    if (!tr_ctx_header_nth(ctx, TR_STR_LIT("User-Agent"), 0, &agent))
        return TR_PLUGIN_NEXT;
    if (tr_ctx_header_nth(ctx, TR_STR_LIT("User-Agent"), 1, &second)) {
        tr_ctx_respond_message(ctx, 400, "Only one User-Agent header allowed");
        return TR_PLUGIN_EXIT;
    }
    agent = tr_str_trim(agent);
    void **slot = tr_ctx_worker_slot(ctx);
    if (*slot == NULL) {
        struct worker_state *w = tr_xcalloc(1, sizeof(*w));
        w->md = pcre2_match_data_create(1, NULL);
        *slot = w;
    }
    struct worker_state *w = *slot;
    uint64_t version = tr_ctx_config_version(ctx);
    struct remembered *r = &w->slots[hash(c, agent) % VERDICT_SLOTS];
    enum verdict v;
    if (r->conf == c && r->version == version && r->len == agent.len &&
        memcmp(r->agent, agent.ptr, agent.len) == 0) {
        v = r->verdict;
    } else {
        v = examine(c, agent, w->md);
        if (agent.len <= MAX_REMEMBERED_AGENT) {
            *r = (struct remembered){
                .conf = c, .version = version, .len = (uint32_t)agent.len, .verdict = v};
            memcpy(r->agent, agent.ptr, agent.len);
        }
    }
    if (v == V_DENY) {
        tr_ctx_respond_message(ctx, 403, "Forbidden");
        return TR_PLUGIN_EXIT;
    }
    return TR_PLUGIN_NEXT;
}

static void worker_free(void *slot)
{
    struct worker_state *w = slot;
    pcre2_match_data_free(w->md);
    free(w);
}

const struct tr_plugin tr_plugin_bot_detection = {
    .name = "bot-detection",
    .version = "3.9.1",
    .priority = 2500,
    .flags = TR_PLUGIN_NO_CONSUMER,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = bot_access,
    .worker_free = worker_free,
};
