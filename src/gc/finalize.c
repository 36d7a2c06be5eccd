/* finalize.c: finalization (to be written) */
