/* land_model_nodes.h: a malloc-backed CBS node allocator for the land fuzz
 * targets, which can be told to fail and counts the nodes it has out. */
#ifndef land_model_nodes_h
#define land_model_nodes_h

#include "../../src/data/cbs.h"

typedef struct land_model_nodes_s {
  long live;   /* nodes allocated and not yet freed */
  bool fail;   /* return NULL from alloc */
} land_model_nodes_s;

/* An allocator drawing on `nodes`, for cbs_init. */
cbs_node_alloc_s land_model_nodes_alloc(land_model_nodes_s *nodes);
/* The land model's set_fail hook; the closure is a land_model_nodes_s. */
void land_model_nodes_set_fail(void *closure, bool fail);

#endif /* land_model_nodes_h */
