/* ld.c: location dependency (to be written) */
