/* SPDX-License-Identifier: MIT */
/* Lookups into the error table defined in err.h. */
#include "core/err.h"

struct err_row {
    int code;
    int status;
    const char *name;
    const char *message;
};

static const struct err_row rows[] = {
#define TR_ERR_ROW(sym, val, status, msg) {val, status, #sym, msg},
    TR_ERR_MAP(TR_ERR_ROW)
#undef TR_ERR_ROW
};

static const struct err_row *find(int err)
{
    for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (rows[i].code == err)
            return &rows[i];
    }
    return 0;
}

const char *tr_err_name(int err)
{
    const struct err_row *r = find(err);
    return r ? r->name : "EUNKNOWN";
}

const char *tr_err_message(int err)
{
    const struct err_row *r = find(err);
    return r ? r->message : "An unexpected error occurred";
}

int tr_err_status(int err)
{
    const struct err_row *r = find(err);
    return r ? r->status : 500;
}
