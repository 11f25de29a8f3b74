/* SPDX-License-Identifier: MIT */
/* Intrusive doubly linked list (circular, with a sentinel head), as in libuv's queue.h. */
#ifndef TR_CORE_LIST_H
#define TR_CORE_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct tr_list {
    struct tr_list *prev, *next;
};

static inline void tr_list_init(struct tr_list *head)
{
    head->prev = head->next = head;
}

static inline bool tr_list_empty(const struct tr_list *head)
{
    return head->next == head;
}

static inline bool tr_list_linked(const struct tr_list *node)
{
    return node->next != NULL && node->next != node;
}

/* Insert node at the tail (before head). */
static inline void tr_list_push(struct tr_list *head, struct tr_list *node)
{
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

/* Unlink node (safe on a node that was initialised with tr_list_init or already removed). */
static inline void tr_list_remove(struct tr_list *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = node->next = node;
}

#define TR_LIST_ENTRY(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
