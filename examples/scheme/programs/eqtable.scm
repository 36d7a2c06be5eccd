; eq? hash tables hash the addresses of their keys.  The collector moves
; keys when it copies them, so a table depends on their locations and
; rehashes when that dependency has gone stale.
(define (show . xs) (for-each display xs) (newline))
(define (iota n) (let loop ((i (- n 1)) (acc '())) (if (< i 0) acc (loop (- i 1) (cons i acc)))))
(define (count-if p l) (let loop ((l l) (n 0)) (if (null? l) n (loop (cdr l) (if (p (car l)) (+ n 1) n)))))

(define t (make-eq-hashtable))
(show (hashtable? t) " " (hashtable? '()) " " (hashtable-count t))

; keys of every kind: pairs, vectors, symbols, strings (in the leaf pool),
; flonums, fixnums and characters (hashed by value)
(define pair-keys (map (lambda (i) (cons i i)) (iota 1000)))
(define vector-keys (map (lambda (i) (make-vector 3 i)) (iota 300)))
(define symbol-keys (map (lambda (i) (string->symbol (string-append "key-" (number->string i)))) (iota 300)))
(define string-keys (map (lambda (i) (number->string i)) (iota 200)))
(define flonum-keys (map (lambda (i) (+ i 0.5)) (iota 50)))
(define fixnum-keys (map (lambda (i) (+ 100000 (* i i))) (iota 100)))
(define char-keys (map integer->char (iota 26 )))

(define (key-value k)
  (cond ((pair? k) (car k))
        ((vector? k) (+ 1000 (vector-ref k 0)))
        ((symbol? k) (string-length (symbol->string k)))
        ((string? k) (string-length k))
        ((char? k) (char->integer k))
        (else k)))

(define all-keys (append pair-keys vector-keys symbol-keys string-keys flonum-keys fixnum-keys char-keys))
(for-each (lambda (k) (hashtable-set! t k (key-value k))) all-keys)
(show "count " (hashtable-count t) " " (length all-keys))
(show t)

; every key finds its own value (and not some other key's)
(define (check scale)
  (count-if (lambda (k) (equal? (hashtable-ref t k 'missing) (* scale (key-value k)))) all-keys))
(show "found before gc: " (check 1))
(gc)
(show "found after gc: " (check 1))
(gc)
(show "found after another gc: " (check 1) ", count " (hashtable-count t))
(show "a stale dependency made a table rehash: " (> (hashtable-stale-rehashes) 0))

; equal but not eq keys are absent
(show (hashtable-ref t (cons 0 0) 'absent) " " (hashtable-ref t (make-vector 3 0) 'absent) " "
      (hashtable-ref t (string-append "1" "0") 'absent) " " (hashtable-ref t 'no-such-key) " "
      (hashtable-contains? t (car pair-keys)) " " (hashtable-contains? t "0"))

; setting an existing key replaces its value after the keys have moved
(gc)
(for-each (lambda (k) (hashtable-set! t k (* 2 (key-value k)))) all-keys)
(show "replaced: " (check 2) ", count " (hashtable-count t))

; delete every other pair key, across a collection
(define (every-other l) (if (or (null? l) (null? (cdr l))) l (cons (car l) (every-other (cddr l)))))
(define doomed (every-other pair-keys))
(gc)
(for-each (lambda (k) (hashtable-delete! t k)) doomed)
(hashtable-delete! t 'no-such-key)
(show "after deleting " (length doomed) ": count " (hashtable-count t))
(gc)
(show "deleted keys absent: " (count-if (lambda (k) (not (hashtable-contains? t k))) doomed)
      ", others present: " (count-if (lambda (k) (hashtable-contains? t k)) all-keys))
(show "keys listed: " (length (hashtable-keys t)))

; lookups interleaved with allocation, so that nursery collections move
; keys between lookups; then the deleted keys come back
(define (churn n) (let loop ((i 0)) (if (< i n) (begin (iota 50) (loop (+ i 1))))))
(define survivors (filter (lambda (k) (hashtable-contains? t k)) pair-keys))
(define (interleaved rounds)
  (let loop ((r 0) (ok 0))
    (if (= r rounds) ok
        (begin
          (churn 20)
          (loop (+ r 1)
                (+ ok (count-if (lambda (k) (= (hashtable-ref t k -1) (* 2 (car k)))) survivors)))))))
(show "interleaved lookups ok: " (= (interleaved 30) (* 30 (length survivors))))
(for-each (lambda (k) (hashtable-set! t k (* 2 (key-value k)))) doomed)
(churn 200)
(show "restored: " (check 2) ", count " (hashtable-count t))

; many small tables, each keyed on fresh objects, grown while collecting
(define (table-of n)
  (let ((h (make-eq-hashtable)) (ks (map (lambda (i) (list i)) (iota n))))
    (for-each (lambda (k) (hashtable-set! h k (car k)) (churn 1)) ks)
    (gc)
    (count-if (lambda (k) (= (hashtable-ref h k -1) (car k))) ks)))
(show (map table-of '(1 10 100 500)))
(show "heap walk ok: " (> (heap-check) 1000))
