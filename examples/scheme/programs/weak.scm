; Weak hash tables keep their bucket vectors in an AWL pool.  A key held
; only by a weak-key table dies at the next full collection, and the
; collector's scan deletes its value with it; keys held elsewhere stay,
; with their values.
;
; The C stack is scanned ambiguously, so a stale word may keep a dropped
; object alive.  The test never lets one object hold all the dropped
; ones when it drops them (a vector is emptied slot by slot, no list of
; them is made), so a stale word keeps at most a few, and those checks
; allow that slack.  Any collection may find a dropped object dead, so
; only counts after explicit collections are checked.
(define (show . xs) (for-each display xs) (newline))
(define (iota n) (let loop ((i (- n 1)) (acc '())) (if (< i 0) acc (loop (- i 1) (cons i acc)))))
(define (count-if p l) (let loop ((l l) (n 0)) (if (null? l) n (loop (cdr l) (if (p (car l)) (+ n 1) n)))))
(define (vector-count p v)
  (let loop ((i 0) (n 0))
    (if (= i (vector-length v)) n (loop (+ i 1) (if (p (vector-ref v i)) (+ n 1) n)))))
(define (vector-each f v)
  (let loop ((i 0)) (if (< i (vector-length v)) (begin (f (vector-ref v i)) (loop (+ i 1))))))
(define (slack? n expected) (and (>= n expected) (<= n (+ expected 5))))

(define wk (make-weak-key-hashtable))
(define strong (map (lambda (i) (list 'strong i)) (iota 100)))
(define dropped (make-vector 100 #f))
(let loop ((i 0)) (if (< i 100) (begin (vector-set! dropped i (list 'dropped i)) (loop (+ i 1)))))
(for-each (lambda (k) (hashtable-set! wk k (* 10 (cadr k)))) strong)
(vector-each (lambda (k) (hashtable-set! wk k (* 10 (cadr k)))) dropped)
(for-each (lambda (s) (hashtable-set! wk s (symbol->string s))) '(alpha beta gamma))
(for-each (lambda (i) (hashtable-set! wk i (* i i))) (iota 10))
(show (hashtable? wk) " " (hashtable-count wk))

; while every key is referenced, a collection keeps them all
(define (right-value? k) (= (hashtable-ref wk k -1) (* 10 (cadr k))))
(gc)
(show "all held: " (hashtable-count wk) " "
      (+ (count-if right-value? strong) (vector-count right-value? dropped)))

; drop the references: only the table refers to those keys now
(vector-fill! dropped #f)
(gc)
(gc)
(show "dropped keys gone: " (slack? (hashtable-count wk) 113))
(show "strong keys kept: " (count-if right-value? strong))
(show "symbols and fixnums kept: " (hashtable-ref wk 'beta) " " (hashtable-ref wk 9))

; a value dies with its key: each value here is also a key of a second
; weak table.  The collection that finds a key dead still reaches its
; value through the value vector, and deletes the entry; a later one
; finds the value dead too.  Were the entry not deleted, the value
; vector would keep every value.
(define wk2 (make-weak-key-hashtable))
(define (fill-both n)
  (let loop ((i 0))
    (if (< i n)
        (let ((v (list 'value i)))
          (hashtable-set! wk (list 'key i) v)
          (hashtable-set! wk2 v i)
          (loop (+ i 1))))))
(fill-both 100)
(show "entries for dead keys: " (<= (hashtable-count wk2) 100))
(gc)
(gc)
(gc)
(show "values gone with their keys: " (<= (hashtable-count wk2) 5)
      ", their entries gone: " (slack? (hashtable-count wk) 113))

; weak values: the keys are fixnums, the values strings; the strings
; held elsewhere stay
(define wv (make-weak-value-hashtable))
(define kept-values (map (lambda (i) (number->string (* 2 i))) (iota 50)))
(for-each (lambda (s) (hashtable-set! wv (string->number s) s)) kept-values)
(define (add-odd n)
  (let loop ((i 0))
    (if (< i n) (begin (hashtable-set! wv (+ 1 (* 2 i)) (number->string (+ 1 (* 2 i)))) (loop (+ i 1))))))
(add-odd 50)
(gc)
(gc)
(show "weak values: " (slack? (hashtable-count wv) 50) " "
      (count-if (lambda (s) (eq? (hashtable-ref wv (string->number s)) s)) kept-values))

; keys keep moving and the weak table keeps finding them
(define (churn n) (let loop ((i 0)) (if (< i n) (begin (iota 50) (loop (+ i 1))))))
(churn 500)
(gc)
(for-each (lambda (k) (hashtable-set! wk k (cadr k))) strong)
(churn 500)
(show "strong keys after churn: " (count-if (lambda (k) (= (hashtable-ref wk k -1) (cadr k))) strong))
(for-each (lambda (k) (hashtable-delete! wk k)) strong)
(gc)
(show "after deleting the strong keys: " (slack? (hashtable-count wk) 13))
(show "heap walk ok: " (> (heap-check) 100))
