/* pool_snc.c: the SNC pool class (to be written) */
