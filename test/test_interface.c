/* The public interface against the manual's index of it: every function,
 * macro, type, keyword and result code that reference/manual documents
 * with a directive (".. c:function::", ".. c:macro::", ".. c:type::", and
 * the MPS_KEY_ and MPS_RES_ names of topic/keyword.rst, topic/error.rst
 * and the pool pages) must be declared by include/, with the same
 * spelling, so that an existing client compiles unchanged.  The lists
 * were taken from the manual once and are kept here, since the manual is
 * not part of this repository.  A missing name fails the build of this
 * test; the runtime checks are what the manual says of the values, and
 * of the client errors that the generic pool and allocation point
 * functions refuse whatever the class (src/pool/pool.c, buffer.c). */
#define _POSIX_C_SOURCE 200809L  /* fork, pipe, setenv */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../include/mps.h"
#include "../include/mpsacl.h"
#include "../include/mpsavm.h"
#include "../include/mpscamc.h"
#include "../include/mpscams.h"
#include "../include/mpscawl.h"
#include "../include/mpsclo.h"
#include "../include/mpscmfs.h"
#include "../include/mpscmvff.h"
#include "../include/mpscmvt.h"
#include "../include/mpscsnc.h"
#include "../include/mpsio.h"
#include "../include/mpslib.h"
#include "support/checks.h"
#include "support/reports.h"

/* Macros: function-like ones are tested by name, which is enough for
 * #ifdef. */
#ifndef MPS_ARGS_ADD
#error "MPS_ARGS_ADD is not defined"
#endif
#ifndef MPS_ARGS_ADD_FIELD
#error "MPS_ARGS_ADD_FIELD is not defined"
#endif
#ifndef MPS_ARGS_BEGIN
#error "MPS_ARGS_BEGIN is not defined"
#endif
#ifndef MPS_ARGS_DONE
#error "MPS_ARGS_DONE is not defined"
#endif
#ifndef MPS_ARGS_END
#error "MPS_ARGS_END is not defined"
#endif
#ifndef MPS_FIX1
#error "MPS_FIX1 is not defined"
#endif
#ifndef MPS_FIX12
#error "MPS_FIX12 is not defined"
#endif
#ifndef MPS_FIX2
#error "MPS_FIX2 is not defined"
#endif
#ifndef MPS_FIX_CALL
#error "MPS_FIX_CALL is not defined"
#endif
#ifndef MPS_PF_ALIGN
#error "MPS_PF_ALIGN is not defined"
#endif
#ifndef MPS_PF_STRING
#error "MPS_PF_STRING is not defined"
#endif
#ifndef MPS_RESERVE_BLOCK
#error "MPS_RESERVE_BLOCK is not defined"
#endif
#ifndef MPS_SAC_ALLOC_FAST
#error "MPS_SAC_ALLOC_FAST is not defined"
#endif
#ifndef MPS_SAC_FREE_FAST
#error "MPS_SAC_FREE_FAST is not defined"
#endif
#ifndef MPS_SAC_CLASS_LIMIT
#error "MPS_SAC_CLASS_LIMIT is not defined"
#endif
#ifndef MPS_SCAN_BEGIN
#error "MPS_SCAN_BEGIN is not defined"
#endif
#ifndef MPS_SCAN_END
#error "MPS_SCAN_END is not defined"
#endif
#ifndef MPS_T_ULONGEST
#error "MPS_T_ULONGEST is not defined"
#endif
#ifndef MPS_T_WORD
#error "MPS_T_WORD is not defined"
#endif
#ifndef MPS_WORD_SHIFT
#error "MPS_WORD_SHIFT is not defined"
#endif
#ifndef MPS_WORD_WIDTH
#error "MPS_WORD_WIDTH is not defined"
#endif
#ifndef MPS_RM_CONST
#error "MPS_RM_CONST is not defined"
#endif
#ifndef MPS_RM_PROT
#error "MPS_RM_PROT is not defined"
#endif
#ifndef MPS_RM_PROT_INNER
#error "MPS_RM_PROT_INNER is not defined"
#endif
#ifndef mps_args_none
#error "mps_args_none is not defined"
#endif
#ifndef mps_reserve
#error "mps_reserve is not defined"
#endif
#ifndef mps_commit
#error "mps_commit is not defined"
#endif

/* Types: each must name a type a client can declare a pointer to. */
struct tif_types_s {
  mps_addr_t *mps_addr_t_p;
  mps_align_t *mps_align_t_p;
  mps_alloc_pattern_t *mps_alloc_pattern_t_p;
  mps_amc_apply_stepper_t *mps_amc_apply_stepper_t_p;
  mps_ap_s *mps_ap_s_p;
  mps_ap_t *mps_ap_t_p;
  mps_area_scan_t *mps_area_scan_t_p;
  mps_arena_class_t *mps_arena_class_t_p;
  mps_arena_t *mps_arena_t_p;
  mps_arg_s *mps_arg_s_p;
  mps_awl_find_dependent_t *mps_awl_find_dependent_t_p;
  mps_bool_t *mps_bool_t_p;
  mps_chain_t *mps_chain_t_p;
  mps_class_t *mps_class_t_p;
  mps_clock_t *mps_clock_t_p;
  mps_fmt_A_s *mps_fmt_A_s_p;
  mps_fmt_B_s *mps_fmt_B_s_p;
  mps_fmt_auto_header_s *mps_fmt_auto_header_s_p;
  mps_fmt_class_t *mps_fmt_class_t_p;
  mps_fmt_fixed_s *mps_fmt_fixed_s_p;
  mps_fmt_fwd_t *mps_fmt_fwd_t_p;
  mps_fmt_isfwd_t *mps_fmt_isfwd_t_p;
  mps_fmt_pad_t *mps_fmt_pad_t_p;
  mps_fmt_scan_t *mps_fmt_scan_t_p;
  mps_fmt_skip_t *mps_fmt_skip_t_p;
  mps_fmt_t *mps_fmt_t_p;
  mps_formatted_objects_stepper_t *mps_formatted_objects_stepper_t_p;
  mps_frame_t *mps_frame_t_p;
  mps_fun_t *mps_fun_t_p;
  mps_gen_param_s *mps_gen_param_s_p;
  mps_io_t *mps_io_t_p;
  mps_key_t *mps_key_t_p;
  mps_label_t *mps_label_t_p;
  mps_ld_s *mps_ld_s_p;
  mps_ld_t *mps_ld_t_p;
  mps_lib_FILE *mps_lib_FILE_p;
  mps_lib_assert_fail_t *mps_lib_assert_fail_t_p;
  mps_message_t *mps_message_t_p;
  mps_message_type_t *mps_message_type_t_p;
  mps_pool_class_t *mps_pool_class_t_p;
  mps_pool_debug_option_s *mps_pool_debug_option_s_p;
  mps_pool_t *mps_pool_t_p;
  mps_rank_t *mps_rank_t_p;
  mps_reg_scan_t *mps_reg_scan_t_p;
  mps_res_t *mps_res_t_p;
  mps_rm_t *mps_rm_t_p;
  mps_root_scan_t *mps_root_scan_t_p;
  mps_root_t *mps_root_t_p;
  mps_roots_stepper_t *mps_roots_stepper_t_p;
  mps_sac_class_s *mps_sac_class_s_p;
  mps_sac_t *mps_sac_t_p;
  mps_scan_tag_s *mps_scan_tag_s_p;
  mps_scan_tag_t *mps_scan_tag_t_p;
  mps_ss_t *mps_ss_t_p;
  mps_thr_t *mps_thr_t_p;
  mps_transform_t *mps_transform_t_p;
  mps_word_t *mps_word_t_p;
};
#define TIF_TYPES 57

/* Every function, by address: also checks that the library defines it.
 * A function that is also a macro (mps_reserve, mps_commit) is named
 * without a following parenthesis, which does not expand the macro. */
typedef void (*tif_fn)(void);
static const struct { const char *name; tif_fn fn; } tif_functions[] = {
  {"mps_addr_fmt", (tif_fn)&mps_addr_fmt},
  {"mps_addr_object", (tif_fn)&mps_addr_object},
  {"mps_addr_pool", (tif_fn)&mps_addr_pool},
  {"mps_alloc", (tif_fn)&mps_alloc},
  {"mps_alloc_pattern_ramp", (tif_fn)&mps_alloc_pattern_ramp},
  {"mps_alloc_pattern_ramp_collect_all", (tif_fn)&mps_alloc_pattern_ramp_collect_all},
  {"mps_amc_apply", (tif_fn)&mps_amc_apply},
  {"mps_ap_alloc_pattern_begin", (tif_fn)&mps_ap_alloc_pattern_begin},
  {"mps_ap_alloc_pattern_end", (tif_fn)&mps_ap_alloc_pattern_end},
  {"mps_ap_alloc_pattern_reset", (tif_fn)&mps_ap_alloc_pattern_reset},
  {"mps_ap_create", (tif_fn)&mps_ap_create},
  {"mps_ap_create_k", (tif_fn)&mps_ap_create_k},
  {"mps_ap_create_v", (tif_fn)&mps_ap_create_v},
  {"mps_ap_destroy", (tif_fn)&mps_ap_destroy},
  {"mps_ap_fill", (tif_fn)&mps_ap_fill},
  {"mps_ap_frame_pop", (tif_fn)&mps_ap_frame_pop},
  {"mps_ap_frame_push", (tif_fn)&mps_ap_frame_push},
  {"mps_ap_trip", (tif_fn)&mps_ap_trip},
  {"mps_arena_busy", (tif_fn)&mps_arena_busy},
  {"mps_arena_clamp", (tif_fn)&mps_arena_clamp},
  {"mps_arena_class_cl", (tif_fn)&mps_arena_class_cl},
  {"mps_arena_class_vm", (tif_fn)&mps_arena_class_vm},
  {"mps_arena_collect", (tif_fn)&mps_arena_collect},
  {"mps_arena_commit_limit", (tif_fn)&mps_arena_commit_limit},
  {"mps_arena_commit_limit_set", (tif_fn)&mps_arena_commit_limit_set},
  {"mps_arena_committed", (tif_fn)&mps_arena_committed},
  {"mps_arena_create", (tif_fn)&mps_arena_create},
  {"mps_arena_create_k", (tif_fn)&mps_arena_create_k},
  {"mps_arena_create_v", (tif_fn)&mps_arena_create_v},
  {"mps_arena_destroy", (tif_fn)&mps_arena_destroy},
  {"mps_arena_extend", (tif_fn)&mps_arena_extend},
  {"mps_arena_formatted_objects_walk", (tif_fn)&mps_arena_formatted_objects_walk},
  {"mps_arena_has_addr", (tif_fn)&mps_arena_has_addr},
  {"mps_arena_park", (tif_fn)&mps_arena_park},
  {"mps_arena_pause_time", (tif_fn)&mps_arena_pause_time},
  {"mps_arena_pause_time_set", (tif_fn)&mps_arena_pause_time_set},
  {"mps_arena_postmortem", (tif_fn)&mps_arena_postmortem},
  {"mps_arena_release", (tif_fn)&mps_arena_release},
  {"mps_arena_reserved", (tif_fn)&mps_arena_reserved},
  {"mps_arena_roots_walk", (tif_fn)&mps_arena_roots_walk},
  {"mps_arena_spare", (tif_fn)&mps_arena_spare},
  {"mps_arena_spare_commit_limit", (tif_fn)&mps_arena_spare_commit_limit},
  {"mps_arena_spare_commit_limit_set", (tif_fn)&mps_arena_spare_commit_limit_set},
  {"mps_arena_spare_committed", (tif_fn)&mps_arena_spare_committed},
  {"mps_arena_spare_set", (tif_fn)&mps_arena_spare_set},
  {"mps_arena_start_collect", (tif_fn)&mps_arena_start_collect},
  {"mps_arena_step", (tif_fn)&mps_arena_step},
  {"mps_chain_create", (tif_fn)&mps_chain_create},
  {"mps_chain_destroy", (tif_fn)&mps_chain_destroy},
  {"mps_class_amc", (tif_fn)&mps_class_amc},
  {"mps_class_amcz", (tif_fn)&mps_class_amcz},
  {"mps_class_ams", (tif_fn)&mps_class_ams},
  {"mps_class_ams_debug", (tif_fn)&mps_class_ams_debug},
  {"mps_class_awl", (tif_fn)&mps_class_awl},
  {"mps_class_lo", (tif_fn)&mps_class_lo},
  {"mps_class_mfs", (tif_fn)&mps_class_mfs},
  {"mps_class_mvff", (tif_fn)&mps_class_mvff},
  {"mps_class_mvff_debug", (tif_fn)&mps_class_mvff_debug},
  {"mps_class_mvt", (tif_fn)&mps_class_mvt},
  {"mps_class_snc", (tif_fn)&mps_class_snc},
  {"mps_clock", (tif_fn)&mps_clock},
  {"mps_clocks_per_sec", (tif_fn)&mps_clocks_per_sec},
  {"mps_collections", (tif_fn)&mps_collections},
  {"mps_commit", (tif_fn)&mps_commit},
  {"mps_definalize", (tif_fn)&mps_definalize},
  {"mps_finalize", (tif_fn)&mps_finalize},
  {"mps_fmt_create_A", (tif_fn)&mps_fmt_create_A},
  {"mps_fmt_create_B", (tif_fn)&mps_fmt_create_B},
  {"mps_fmt_create_auto_header", (tif_fn)&mps_fmt_create_auto_header},
  {"mps_fmt_create_fixed", (tif_fn)&mps_fmt_create_fixed},
  {"mps_fmt_create_k", (tif_fn)&mps_fmt_create_k},
  {"mps_fmt_destroy", (tif_fn)&mps_fmt_destroy},
  {"mps_free", (tif_fn)&mps_free},
  {"mps_io_create", (tif_fn)&mps_io_create},
  {"mps_io_destroy", (tif_fn)&mps_io_destroy},
  {"mps_io_flush", (tif_fn)&mps_io_flush},
  {"mps_io_write", (tif_fn)&mps_io_write},
  {"mps_ld_add", (tif_fn)&mps_ld_add},
  {"mps_ld_isstale", (tif_fn)&mps_ld_isstale},
  {"mps_ld_isstale_any", (tif_fn)&mps_ld_isstale_any},
  {"mps_ld_merge", (tif_fn)&mps_ld_merge},
  {"mps_ld_reset", (tif_fn)&mps_ld_reset},
  {"mps_lib_assert_fail", (tif_fn)&mps_lib_assert_fail},
  {"mps_lib_assert_fail_install", (tif_fn)&mps_lib_assert_fail_install},
  {"mps_lib_fputc", (tif_fn)&mps_lib_fputc},
  {"mps_lib_fputs", (tif_fn)&mps_lib_fputs},
  {"mps_lib_get_EOF", (tif_fn)&mps_lib_get_EOF},
  {"mps_lib_get_stderr", (tif_fn)&mps_lib_get_stderr},
  {"mps_lib_get_stdout", (tif_fn)&mps_lib_get_stdout},
  {"mps_lib_memcmp", (tif_fn)&mps_lib_memcmp},
  {"mps_lib_memcpy", (tif_fn)&mps_lib_memcpy},
  {"mps_lib_memset", (tif_fn)&mps_lib_memset},
  {"mps_lib_telemetry_control", (tif_fn)&mps_lib_telemetry_control},
  {"mps_message_clock", (tif_fn)&mps_message_clock},
  {"mps_message_discard", (tif_fn)&mps_message_discard},
  {"mps_message_finalization_ref", (tif_fn)&mps_message_finalization_ref},
  {"mps_message_gc_condemned_size", (tif_fn)&mps_message_gc_condemned_size},
  {"mps_message_gc_live_size", (tif_fn)&mps_message_gc_live_size},
  {"mps_message_gc_not_condemned_size", (tif_fn)&mps_message_gc_not_condemned_size},
  {"mps_message_gc_start_why", (tif_fn)&mps_message_gc_start_why},
  {"mps_message_get", (tif_fn)&mps_message_get},
  {"mps_message_poll", (tif_fn)&mps_message_poll},
  {"mps_message_queue_type", (tif_fn)&mps_message_queue_type},
  {"mps_message_type", (tif_fn)&mps_message_type},
  {"mps_message_type_disable", (tif_fn)&mps_message_type_disable},
  {"mps_message_type_enable", (tif_fn)&mps_message_type_enable},
  {"mps_message_type_finalization", (tif_fn)&mps_message_type_finalization},
  {"mps_message_type_gc", (tif_fn)&mps_message_type_gc},
  {"mps_message_type_gc_start", (tif_fn)&mps_message_type_gc_start},
  {"mps_mvff_free_size", (tif_fn)&mps_mvff_free_size},
  {"mps_mvff_size", (tif_fn)&mps_mvff_size},
  {"mps_mvt_free_size", (tif_fn)&mps_mvt_free_size},
  {"mps_mvt_size", (tif_fn)&mps_mvt_size},
  {"mps_pool_check_fenceposts", (tif_fn)&mps_pool_check_fenceposts},
  {"mps_pool_check_free_space", (tif_fn)&mps_pool_check_free_space},
  {"mps_pool_create", (tif_fn)&mps_pool_create},
  {"mps_pool_create_k", (tif_fn)&mps_pool_create_k},
  {"mps_pool_create_v", (tif_fn)&mps_pool_create_v},
  {"mps_pool_destroy", (tif_fn)&mps_pool_destroy},
  {"mps_pool_free_size", (tif_fn)&mps_pool_free_size},
  {"mps_pool_total_size", (tif_fn)&mps_pool_total_size},
  {"mps_pool_walk", (tif_fn)&mps_pool_walk},
  {"mps_rank_ambig", (tif_fn)&mps_rank_ambig},
  {"mps_rank_exact", (tif_fn)&mps_rank_exact},
  {"mps_rank_weak", (tif_fn)&mps_rank_weak},
  {"mps_reserve", (tif_fn)&mps_reserve},
  {"mps_root_create", (tif_fn)&mps_root_create},
  {"mps_root_create_area", (tif_fn)&mps_root_create_area},
  {"mps_root_create_area_tagged", (tif_fn)&mps_root_create_area_tagged},
  {"mps_root_create_fmt", (tif_fn)&mps_root_create_fmt},
  {"mps_root_create_reg", (tif_fn)&mps_root_create_reg},
  {"mps_root_create_table", (tif_fn)&mps_root_create_table},
  {"mps_root_create_table_masked", (tif_fn)&mps_root_create_table_masked},
  {"mps_root_create_table_tagged", (tif_fn)&mps_root_create_table_tagged},
  {"mps_root_create_thread", (tif_fn)&mps_root_create_thread},
  {"mps_root_create_thread_scanned", (tif_fn)&mps_root_create_thread_scanned},
  {"mps_root_create_thread_tagged", (tif_fn)&mps_root_create_thread_tagged},
  {"mps_root_destroy", (tif_fn)&mps_root_destroy},
  {"mps_sac_alloc", (tif_fn)&mps_sac_alloc},
  {"mps_sac_create", (tif_fn)&mps_sac_create},
  {"mps_sac_destroy", (tif_fn)&mps_sac_destroy},
  {"mps_sac_flush", (tif_fn)&mps_sac_flush},
  {"mps_sac_free", (tif_fn)&mps_sac_free},
  {"mps_scan_area", (tif_fn)&mps_scan_area},
  {"mps_scan_area_masked", (tif_fn)&mps_scan_area_masked},
  {"mps_scan_area_tagged", (tif_fn)&mps_scan_area_tagged},
  {"mps_scan_area_tagged_or_zero", (tif_fn)&mps_scan_area_tagged_or_zero},
  {"mps_telemetry_flush", (tif_fn)&mps_telemetry_flush},
  {"mps_telemetry_get", (tif_fn)&mps_telemetry_get},
  {"mps_telemetry_intern", (tif_fn)&mps_telemetry_intern},
  {"mps_telemetry_label", (tif_fn)&mps_telemetry_label},
  {"mps_telemetry_reset", (tif_fn)&mps_telemetry_reset},
  {"mps_telemetry_set", (tif_fn)&mps_telemetry_set},
  {"mps_thread_dereg", (tif_fn)&mps_thread_dereg},
  {"mps_thread_reg", (tif_fn)&mps_thread_reg},
  {"mps_transform_add_oldnew", (tif_fn)&mps_transform_add_oldnew},
  {"mps_transform_apply", (tif_fn)&mps_transform_apply},
  {"mps_transform_create", (tif_fn)&mps_transform_create},
  {"mps_transform_destroy", (tif_fn)&mps_transform_destroy},
};

static const struct { const char *name; mps_key_t key; } tif_keys[] = {
  {"MPS_KEY_ALIGN", MPS_KEY_ALIGN},
  {"MPS_KEY_AMS_SUPPORT_AMBIGUOUS", MPS_KEY_AMS_SUPPORT_AMBIGUOUS},
  {"MPS_KEY_AP_HASH_ARRAYS", MPS_KEY_AP_HASH_ARRAYS},
  {"MPS_KEY_ARENA_CL_BASE", MPS_KEY_ARENA_CL_BASE},
  {"MPS_KEY_ARENA_CONTRACTED", MPS_KEY_ARENA_CONTRACTED},
  {"MPS_KEY_ARENA_EXTENDED", MPS_KEY_ARENA_EXTENDED},
  {"MPS_KEY_ARENA_GRAIN_SIZE", MPS_KEY_ARENA_GRAIN_SIZE},
  {"MPS_KEY_ARENA_SIZE", MPS_KEY_ARENA_SIZE},
  {"MPS_KEY_ARGS_END", MPS_KEY_ARGS_END},
  {"MPS_KEY_AWL_FIND_DEPENDENT", MPS_KEY_AWL_FIND_DEPENDENT},
  {"MPS_KEY_CHAIN", MPS_KEY_CHAIN},
  {"MPS_KEY_COMMIT_LIMIT", MPS_KEY_COMMIT_LIMIT},
  {"MPS_KEY_EXTEND_BY", MPS_KEY_EXTEND_BY},
  {"MPS_KEY_FMT_ALIGN", MPS_KEY_FMT_ALIGN},
  {"MPS_KEY_FMT_CLASS", MPS_KEY_FMT_CLASS},
  {"MPS_KEY_FMT_FWD", MPS_KEY_FMT_FWD},
  {"MPS_KEY_FMT_HEADER_SIZE", MPS_KEY_FMT_HEADER_SIZE},
  {"MPS_KEY_FMT_ISFWD", MPS_KEY_FMT_ISFWD},
  {"MPS_KEY_FMT_PAD", MPS_KEY_FMT_PAD},
  {"MPS_KEY_FMT_SCAN", MPS_KEY_FMT_SCAN},
  {"MPS_KEY_FMT_SKIP", MPS_KEY_FMT_SKIP},
  {"MPS_KEY_FORMAT", MPS_KEY_FORMAT},
  {"MPS_KEY_GEN", MPS_KEY_GEN},
  {"MPS_KEY_INTERIOR", MPS_KEY_INTERIOR},
  {"MPS_KEY_MAX_SIZE", MPS_KEY_MAX_SIZE},
  {"MPS_KEY_MEAN_SIZE", MPS_KEY_MEAN_SIZE},
  {"MPS_KEY_MFS_UNIT_SIZE", MPS_KEY_MFS_UNIT_SIZE},
  {"MPS_KEY_MIN_SIZE", MPS_KEY_MIN_SIZE},
  {"MPS_KEY_MVFF_ARENA_HIGH", MPS_KEY_MVFF_ARENA_HIGH},
  {"MPS_KEY_MVFF_FIRST_FIT", MPS_KEY_MVFF_FIRST_FIT},
  {"MPS_KEY_MVFF_SLOT_HIGH", MPS_KEY_MVFF_SLOT_HIGH},
  {"MPS_KEY_MVT_FRAG_LIMIT", MPS_KEY_MVT_FRAG_LIMIT},
  {"MPS_KEY_MVT_RESERVE_DEPTH", MPS_KEY_MVT_RESERVE_DEPTH},
  {"MPS_KEY_PAUSE_TIME", MPS_KEY_PAUSE_TIME},
  {"MPS_KEY_POOL_DEBUG_OPTIONS", MPS_KEY_POOL_DEBUG_OPTIONS},
  {"MPS_KEY_RANK", MPS_KEY_RANK},
  {"MPS_KEY_SPARE", MPS_KEY_SPARE},
  {"MPS_KEY_SPARE_COMMIT_LIMIT", MPS_KEY_SPARE_COMMIT_LIMIT},
  {"MPS_KEY_VMW3_TOP_DOWN", MPS_KEY_VMW3_TOP_DOWN},
};

static const struct { const char *name; mps_res_t res; } tif_results[] = {
  {"MPS_RES_OK", MPS_RES_OK},
  {"MPS_RES_FAIL", MPS_RES_FAIL},
  {"MPS_RES_RESOURCE", MPS_RES_RESOURCE},
  {"MPS_RES_MEMORY", MPS_RES_MEMORY},
  {"MPS_RES_LIMIT", MPS_RES_LIMIT},
  {"MPS_RES_UNIMPL", MPS_RES_UNIMPL},
  {"MPS_RES_IO", MPS_RES_IO},
  {"MPS_RES_COMMIT_LIMIT", MPS_RES_COMMIT_LIMIT},
  {"MPS_RES_PARAM", MPS_RES_PARAM},
};

#define TIF_COUNT(a) (sizeof(a) / sizeof((a)[0]))

Test(interface, every_documented_function_is_defined)
{
  size_t i, j;
  for (i = 0; i < TIF_COUNT(tif_functions); ++i) {
    cr_assert_not_null((void *)(size_t)tif_functions[i].fn, "%s", tif_functions[i].name);
    for (j = 0; j < i; ++j)
      cr_assert_neq(strcmp(tif_functions[i].name, tif_functions[j].name), 0);
  }
}

/* topic/keyword.rst: keys are distinct objects, and a key's field is the
 * one MPS_ARGS_ADD fills in (a key added and read back gives the value). */
Test(interface, every_documented_key_is_distinct)
{
  size_t i, j;
  for (i = 0; i < TIF_COUNT(tif_keys); ++i) {
    cr_assert_not_null(tif_keys[i].key, "%s", tif_keys[i].name);
    for (j = 0; j < i; ++j)
      cr_assert_neq(tif_keys[i].key, tif_keys[j].key, "%s and %s are the same key",
                    tif_keys[i].name, tif_keys[j].name);
  }
  MPS_ARGS_BEGIN(args) {
    MPS_ARGS_ADD(args, MPS_KEY_AP_HASH_ARRAYS, 1);
    MPS_ARGS_ADD(args, MPS_KEY_ARENA_SIZE, 12345);
    cr_assert_eq(args[0].key, MPS_KEY_AP_HASH_ARRAYS);
    cr_assert_eq(args[0].val.b, 1);
    cr_assert_eq(args[1].val.size, 12345);
    cr_assert_eq(args[2].key, MPS_KEY_ARGS_END);
  } MPS_ARGS_END(args);
}

/* topic/error.rst: MPS_RES_OK is zero and every other code differs from
 * it and from each other. */
Test(interface, result_codes_are_distinct_and_ok_is_zero)
{
  size_t i, j;
  cr_assert_eq(MPS_RES_OK, 0);
  for (i = 0; i < TIF_COUNT(tif_results); ++i)
    for (j = 0; j < i; ++j)
      cr_assert_neq(tif_results[i].res, tif_results[j].res, "%s and %s",
                    tif_results[i].name, tif_results[j].name);
}

Test(interface, every_documented_type_is_declared)
{
  /* One member per name, none merged or lost (all object pointers are
   * a word wide on the supported platforms). */
  cr_assert_eq(sizeof(struct tif_types_s), TIF_TYPES * sizeof(void *));
}

/* topic/platform.rst and topic/interface.rst: the word is a pointer's
 * width, MPS_WORD_WIDTH its bits and MPS_WORD_SHIFT their log. */
Test(interface, word_macros_agree)
{
  cr_assert_eq(sizeof(mps_word_t), sizeof(void *));
  cr_assert_eq(MPS_WORD_WIDTH, sizeof(mps_word_t) * 8);
  cr_assert_eq((size_t)1 << MPS_WORD_SHIFT, (size_t)MPS_WORD_WIDTH);
  cr_assert_geq(sizeof(MPS_T_ULONGEST), sizeof(mps_word_t));
  cr_assert_eq(MPS_PF_ALIGN & (MPS_PF_ALIGN - 1), 0);
  cr_assert_gt(strlen(MPS_PF_STRING), 0);
}

/* weak.rst: a reference that passes MPS_FIX1 is never null, so one that
 * MPS_FIX2 leaves null was splatted.  With every zone white, MPS_FIX1
 * still turns null away (and adds no zone for it), takes any other
 * reference, and evaluates its argument once. */
static mps_res_t tif_fix_never(mps_ss_t ss, mps_addr_t *ref_io)
{
  (void)ss;
  (void)ref_io;
  cr_assert_fail("MPS_FIX2 was reached");
  return MPS_RES_FAIL;
}

Test(interface, fix1_turns_null_away)
{
  mps_ss_s s;
  mps_ss_t ss = &s;
  mps_word_t zs = 20, evaluated = 0;
  mps_addr_t ref = NULL;
  s._fix = tif_fix_never;
  s._zs = zs;
  s._w = ~(mps_word_t)0;
  s._ufs = 0;
  MPS_SCAN_BEGIN(ss) {
    cr_assert_not(MPS_FIX1(ss, (++evaluated, ref)));
    cr_assert_eq(MPS_FIX12(ss, &ref), MPS_RES_OK);
    cr_assert(MPS_FIX1(ss, (++evaluated, (mps_addr_t)((mps_word_t)3 << zs))));
  } MPS_SCAN_END(ss);
  cr_assert_eq(evaluated, 2);
  cr_assert_eq(s._ufs, (mps_word_t)1 << 3, "zones seen: %lx", (unsigned long)s._ufs);
}

/* ---- Client errors the generic pool and point functions refuse ---- */

static struct {
  mps_arena_t arena;
  mps_pool_t pool;
  mps_ap_t ap;
} tif;

/* An MVFF pool with a point, and an assertion handler that counts. */
static void tif_open_pool(void)
{
  cr_assert_eq(mps_arena_create_k(&tif.arena, mps_arena_class_vm(), mps_args_none),
               MPS_RES_OK);
  cr_assert_eq(mps_pool_create_k(&tif.pool, tif.arena, mps_class_mvff(), mps_args_none),
               MPS_RES_OK);
  cr_assert_eq(mps_ap_create_k(&tif.ap, tif.pool, mps_args_none), MPS_RES_OK);
  reports_install();
}

static void tif_close_pool(void)
{
  reports_install_abort();
  mps_ap_destroy(tif.ap);
  mps_pool_destroy(tif.pool);
  mps_arena_destroy(tif.arena);
}

Test(interface, alloc_of_zero_bytes_is_refused)
{
  mps_addr_t p = NULL;
  tif_open_pool();
  cr_assert_eq(mps_alloc(&p, tif.pool, 0), MPS_RES_PARAM);
  cr_assert_null(p);
  TEST_ASSERT_REPORTED(reports_seen());
  tif_close_pool();
}

Test(interface, ap_create_refuses_a_null_pool)
{
  mps_ap_t ap = NULL;
  tif_open_pool();
  cr_assert_eq(mps_ap_create_k(&ap, NULL, mps_args_none), MPS_RES_PARAM);
  cr_assert_null(ap);
  TEST_ASSERT_REPORTED(reports_seen());
  tif_close_pool();
}

/* A pool whose class refuses its arguments (MFS needs its unit size)
 * leaves nothing behind: failing many times does not use up memory. */
Test(interface, a_pool_create_that_the_class_refuses_gives_its_memory_back)
{
  size_t committed = 0;
  int i;
  tif_open_pool();
  for (i = 0; i < 5000; ++i) {
    mps_pool_t pool;
    cr_assert_eq(mps_pool_create_k(&pool, tif.arena, mps_class_mfs(), mps_args_none),
                 MPS_RES_PARAM);
    /* The first may take a grain for control memory, which stays. */
    if (i == 0)
      committed = mps_arena_committed(tif.arena);
  }
  cr_assert_eq(mps_arena_committed(tif.arena), committed);
  tif_close_pool();
}

/* frame.rst: a pop between reserve and commit is a protocol error, which
 * may fail; it pops nothing, so the frame can be popped after the commit. */
Test(interface, frame_pop_between_reserve_and_commit_fails_and_pops_nothing)
{
  mps_frame_t frame;
  mps_addr_t p;
  tif_open_pool();
  cr_assert_eq(mps_ap_frame_push(&frame, tif.ap), MPS_RES_OK);
  cr_assert_eq(mps_reserve(&p, tif.ap, 64), MPS_RES_OK);
  cr_assert_eq(mps_ap_frame_pop(tif.ap, frame), MPS_RES_FAIL);
  TEST_ASSERT_REPORTED(reports_seen());
  cr_assert(mps_commit(tif.ap, p, 64));
  reports_install();
  cr_assert_eq(mps_ap_frame_pop(tif.ap, frame), MPS_RES_OK);
  cr_assert_eq(reports_seen(), 0);
  /* Popped now: a second pop is refused. */
  cr_assert_eq(mps_ap_frame_pop(tif.ap, frame), MPS_RES_FAIL);
  tif_close_pool();
}

/* ---- The ANSI plinth (topic/plinth.rst, topic/error.rst) ---- */

/* Runs `report` in a child whose standard error is a pipe; returns what
 * it wrote (up to size - 1 bytes) and its wait status in *status. */
static void tif_run_child(void (*report)(void), char *out, size_t size, int *status)
{
  int fds[2];
  size_t n = 0;
  ssize_t r;
  pid_t pid;
  cr_assert_eq(pipe(fds), 0);
  fflush(NULL);
  pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    report();
    _exit(0);
  }
  close(fds[1]);
  while (n + 1 < size && (r = read(fds[0], out + n, size - 1 - n)) > 0)
    n += (size_t)r;
  out[n] = '\0';
  close(fds[0]);
  cr_assert_eq(waitpid(pid, status, 0), pid);
}

/* The variety's documented ending: cool aborts, hot and rash go on. */
static void tif_assert_ended_as_documented(int status)
{
  if (CHECK_LEVEL >= 2)
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x", status);
  else
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

static mps_lib_assert_fail_t tif_default_handler;

static void tif_report_with_default_handler(void)
{
  tif_default_handler("tif_file.c", 4321, "tif_condition != 0");
}

Test(plinth, the_default_handler_reports_file_line_and_condition)
{
  char out[512];
  int status;
  /* Nothing has replaced the default handler in this test's process. */
  tif_default_handler = mps_lib_assert_fail_install(reports_record);
  cr_assert_not_null(tif_default_handler);
  tif_run_child(tif_report_with_default_handler, out, sizeof out, &status);
  cr_assert_not_null(strstr(out, "tif_file.c"), "report: %s", out);
  cr_assert_not_null(strstr(out, "4321"), "report: %s", out);
  cr_assert_not_null(strstr(out, "tif_condition != 0"), "report: %s", out);
  tif_assert_ended_as_documented(status);
}

static void tif_report_with_lib_assert_fail(void)
{
  mps_lib_assert_fail("tif: a message of one's own");
}

Test(plinth, lib_assert_fail_prints_the_message)
{
  char out[512];
  int status;
  tif_run_child(tif_report_with_lib_assert_fail, out, sizeof out, &status);
  cr_assert_not_null(strstr(out, "tif: a message of one's own"), "report: %s", out);
  tif_assert_ended_as_documented(status);
}

Test(plinth, install_returns_the_handler_it_replaces)
{
  mps_lib_assert_fail_t first = mps_lib_assert_fail_install(reports_record);
  cr_assert_not_null(first);
  cr_assert_eq(mps_lib_assert_fail_install(reports_abort), reports_record);
  cr_assert_eq(mps_lib_assert_fail_install(first), reports_abort);
}

/* In the ANSI plinth mps_lib_FILE stands for the C library's FILE. */
Test(plinth, streams_and_eof_are_the_c_librarys)
{
  cr_assert_eq(mps_lib_get_EOF(), EOF);
  cr_assert_eq((void *)mps_lib_get_stderr(), (void *)stderr);
  cr_assert_eq((void *)mps_lib_get_stdout(), (void *)stdout);
}

Test(plinth, fputc_and_fputs_write_to_the_stream_given)
{
  char buf[16];
  FILE *f = tmpfile();
  cr_assert_not_null(f);
  cr_assert_eq(mps_lib_fputc('m', (mps_lib_FILE *)(void *)f), 'm');
  cr_assert_geq(mps_lib_fputs("ps11", (mps_lib_FILE *)(void *)f), 0);
  rewind(f);
  cr_assert_not_null(fgets(buf, sizeof buf, f));
  cr_assert_str_eq(buf, "mps11");
  fclose(f);
}

/* As the C library's functions: the same bytes and return values. */
Test(plinth, memory_functions_behave_as_the_c_librarys)
{
  unsigned char a[32], b[32];
  size_t i;
  cr_assert_eq(mps_lib_memset(a, 0x5A, sizeof a), (void *)a);
  for (i = 0; i < sizeof a; ++i)
    cr_assert_eq(a[i], 0x5A);
  for (i = 0; i < sizeof b; ++i)
    b[i] = (unsigned char)i;
  cr_assert_eq(mps_lib_memcpy(a, b, sizeof a), (void *)a);
  cr_assert_eq(memcmp(a, b, sizeof a), 0);
  cr_assert_eq(mps_lib_memcmp(a, b, sizeof a), 0);
  a[20] = 0;
  b[20] = 200;
  cr_assert_lt(mps_lib_memcmp(a, b, sizeof a), 0);
  cr_assert_gt(mps_lib_memcmp(b, a, sizeof a), 0);
  cr_assert_eq(mps_lib_memcmp(a, b, 20), 0);
}

/* plinth.rst: the ANSI plinth's clock is the C library's clock(), in
 * CLOCKS_PER_SEC ticks a second. */
Test(plinth, mps_clock_is_the_processor_clock)
{
  clock_t before, after;
  mps_clock_t now;
  do
    before = clock();
  while (before == 0);   /* so that a clock stuck at zero is seen */
  now = mps_clock();
  after = clock();
  cr_assert_geq(now, (mps_clock_t)before);
  cr_assert_leq(now, (mps_clock_t)after);
  cr_assert_eq(mps_clocks_per_sec(), (mps_clock_t)CLOCKS_PER_SEC);
}

/* telemetry.rst: the category names and their bits. */
Test(plinth, each_category_name_turns_on_its_bit)
{
  static const char *const names[] = {"arena", "pool", "trace", "seg", "ref",
                                      "object", "user"};
  size_t i;
  for (i = 0; i < TIF_COUNT(names); ++i) {
    cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", names[i], 1), 0);
    cr_assert_eq(mps_lib_telemetry_control(), 1UL << i, "%s", names[i]);
  }
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "SEG Object", 1), 0);
  cr_assert_eq(mps_lib_telemetry_control(), (1UL << 3) | (1UL << 5));
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "0x12 ", 1), 0);
  cr_assert_eq(mps_lib_telemetry_control(), 0x12);
  cr_assert_eq(setenv("MPS_TELEMETRY_CONTROL", "all", 1), 0);
  cr_assert_eq(mps_lib_telemetry_control(), ~0UL);
  cr_assert_eq(unsetenv("MPS_TELEMETRY_CONTROL"), 0);
  cr_assert_eq(mps_lib_telemetry_control(), 0);
}
