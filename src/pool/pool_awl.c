/* pool_awl.c: the AWL pool class (to be written) */
