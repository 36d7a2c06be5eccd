/* mpsavm.h: the virtual memory arena class (manual/topic/arena.rst). */
#ifndef mpsavm_h
#define mpsavm_h

#include "mps.h"

#ifdef __cplusplus
extern "C" {
#endif

extern mps_arena_class_t mps_arena_class_vm(void);

#ifdef __cplusplus
}
#endif

#endif /* mpsavm_h */
