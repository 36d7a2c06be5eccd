/* pattern.c: allocation patterns (to be written) */
