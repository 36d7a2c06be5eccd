/* land_model_nodes.c: see land_model_nodes.h. */
#include "land_model_nodes.h"

#include <stdlib.h>

static void *land_model_nodes_get(void *closure, size_t size)
{
  land_model_nodes_s *nodes = closure;
  void *p;
  if (nodes->fail)
    return NULL;
  p = malloc(size);
  if (p == NULL)
    abort();
  ++nodes->live;
  return p;
}

static void land_model_nodes_put(void *closure, void *p, size_t size)
{
  land_model_nodes_s *nodes = closure;
  (void)size;
  if (nodes->live <= 0)
    abort();
  --nodes->live;
  free(p);
}

cbs_node_alloc_s land_model_nodes_alloc(land_model_nodes_s *nodes)
{
  cbs_node_alloc_s alloc;
  alloc.alloc = land_model_nodes_get;
  alloc.free = land_model_nodes_put;
  alloc.closure = nodes;
  return alloc;
}

void land_model_nodes_set_fail(void *closure, bool fail)
{
  ((land_model_nodes_s *)closure)->fail = fail;
}
