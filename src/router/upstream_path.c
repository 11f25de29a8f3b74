/* SPDX-License-Identifier: MIT */
/* Kong 3 upstream path joining (see upstream_path.h); pure string work, no allocation. */
#include "router/upstream_path.h"

#include <string.h>

#include "core/err.h"

struct out {
    char *ptr;
    size_t len, cap;
    bool overflow;
};

static void put(struct out *o, const char *s, size_t len)
{
    if (len > o->cap - o->len) {
        o->overflow = true;
        return;
    }
    memcpy(o->ptr + o->len, s, len);
    o->len += len;
}

/* utils.lua sanitize_uri_postfix. */
static struct tr_str sanitize_postfix(struct tr_str s)
{
    if ((s.len == 1 && s.ptr[0] == '.') || (s.len == 2 && s.ptr[0] == '.' && s.ptr[1] == '.'))
        return (struct tr_str){s.ptr, 0};
    if (s.len >= 2 && s.ptr[0] == '.' && s.ptr[1] == '/')
        return (struct tr_str){s.ptr + 2, s.len - 2};
    if (s.len >= 3 && s.ptr[0] == '.' && s.ptr[1] == '.' && s.ptr[2] == '/')
        return (struct tr_str){s.ptr + 3, s.len - 3};
    return s;
}

/* utils.lua get_upstream_uri_v0, branch by branch. */
static void join_v0(struct out *o, struct tr_str base, struct tr_str post, struct tr_str req,
                    bool strip)
{
    bool base_slash = base.ptr[base.len - 1] == '/';
    bool req_slash = req.len > 0 && req.ptr[req.len - 1] == '/';
    if (base_slash) {
        if (!strip) {
            put(o, base.ptr, base.len);
            put(o, req.ptr + 1, req.len - 1);
        } else if (post.len == 0) {
            if (base.len == 1 || req_slash)
                put(o, base.ptr, base.len);
            else
                put(o, base.ptr, base.len - 1);
        } else if (post.ptr[0] == '/') {
            put(o, base.ptr, base.len - 1);
            put(o, post.ptr, post.len);
        } else {
            put(o, base.ptr, base.len);
            put(o, post.ptr, post.len);
        }
        return;
    }
    put(o, base.ptr, base.len);
    if (strip) {
        if (post.len == 0) {
            if (req.len > 1 && req_slash)
                put(o, "/", 1);
        } else {
            if (post.ptr[0] != '/')
                put(o, "/", 1);
            put(o, post.ptr, post.len);
        }
    } else if (!(req.len == 1 && req.ptr[0] == '/')) {
        put(o, req.ptr, req.len);
    }
}

/* traditional.lua (exec, "path_handling == v1"). */
static void join_v1(struct out *o, struct tr_str base, struct tr_str post, struct tr_str req,
                    bool strip)
{
    if (!strip) {
        put(o, base.ptr, base.len);
        put(o, req.ptr + 1, req.len - 1);
    } else if (base.ptr[base.len - 1] == '/' && post.len > 0 && post.ptr[0] == '/') {
        put(o, base.ptr, base.len - 1);
        put(o, post.ptr, post.len);
    } else {
        put(o, base.ptr, base.len);
        put(o, post.ptr, post.len);
    }
}

int tr_router_upstream_path(struct tr_str service_path, struct tr_str req_path, size_t matched_len,
                            bool strip_path, enum tr_path_handling handling, char *out,
                            size_t out_cap)
{
    struct tr_str base = service_path;
    if (base.ptr == NULL || base.len == 0)
        base = TR_STR_LIT("/");
    if (req_path.ptr == NULL || req_path.len == 0)
        req_path = TR_STR_LIT("/");
    /* atc.lua set_upstream_uri: the prefix is the matched path with strip_path, else "/". */
    size_t prefix = strip_path && matched_len > 0 ? matched_len : 1;
    if (prefix > req_path.len)
        prefix = req_path.len;
    struct tr_str post =
        sanitize_postfix((struct tr_str){req_path.ptr + prefix, req_path.len - prefix});

    struct out o = {out, 0, out_cap, false};
    if (handling == TR_PATH_HANDLING_V1)
        join_v1(&o, base, post, req_path, strip_path);
    else
        join_v0(&o, base, post, req_path, strip_path);
    if (o.overflow)
        return TR_ETOOLARGE;
    return (int)o.len;
}
