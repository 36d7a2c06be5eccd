; Ports hold C streams.  A port is registered for finalization when it is
; opened; close-port closes it and deregisters it.  A port dropped while
; open is finalized once a collection finds it dead, and its stream is
; closed then.  Ambiguous references from the C stack may keep a few
; dropped ports alive, so those checks allow some slack.
(define (show . xs) (for-each display xs) (newline))
(define (iota n) (let loop ((i (- n 1)) (acc '())) (if (< i 0) acc (loop (- i 1) (cons i acc)))))
(define name "finalize.scm")

(define p (open-input-file name))
(show (port? p) " " (port? name) " " (port-open? p))
(show (read-line p))
(show (read-char p) (peek-char p) (read-char p))
(gc)
(show "open after a collection: " (port-open? p) ", reads on: " (read-line p))
(close-port p)
(close-port p)
(show (port-open? p) " " p)
(show "finalized so far: " (finalized-port-count))

; closed ports are never finalized, however they are dropped
(define (open-and-drop n close?)
  (let loop ((i 0))
    (if (< i n)
        (let ((q (open-input-file name)))
          (read-char q)
          (if close? (close-port q))
          (loop (+ i 1))))))
(open-and-drop 20 #t)
(gc)
(show "after dropping closed ports: " (finalized-port-count))

; open ones are
(open-and-drop 20 #f)
(gc)
(define n (finalized-port-count))
(show "dropped open ports finalized: " (and (>= n 15) (<= n 20)))

; ports still referenced stay open, wherever the collector moves them
(define kept (map (lambda (i) (open-input-file name)) (iota 10)))
(gc)
(gc)
(show "kept ports open: " (length (filter port-open? kept)) " " (read-line (car kept)))
(for-each close-port kept)
(set! kept #f)
(gc)
; only the 20 dropped open ports can ever be finalized so far (one kept
; alive by a stray reference above may be finalized now)
(show "closed kept ports not finalized: " (<= (finalized-port-count) 20))

; more ports than a process may usually hold open at once, all dropped
; open: finalization closes them, and running out of handles collects
(define (open-many n)
  (let loop ((i 0))
    (if (< i n) (begin (open-input-file name) (loop (+ i 1))))))
(open-many 3000)
(gc)
(show "3000 dropped ports finalized: " (>= (- (finalized-port-count) n) 2980))
(show "heap walk ok: " (> (heap-check) 100))
