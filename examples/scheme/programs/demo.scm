; demo.scm: the bundled demonstration of the Scheme interpreter on the
; memory manager.  It allocates heavily (millions of pairs, strings,
; vectors, closures and flonums, nearly all of them garbage soon after)
; and checks every result against a value computed independently, so a
; collector that loses, corrupts or fails to update an object shows up
; as a FAIL line.  Its last sections use what the automatic pools add:
; an address-hashed table whose keys move (location dependency), a weak
; table (AWL) and ports closed by finalization.  Run with --stats to see
; the collections, the rehashes and the finalized ports.

(define failures 0)
(define (check name value expected)
  (display name) (display ": ") (write value)
  (if (equal? value expected)
      (display " ok")
      (begin (set! failures (+ failures 1))
             (display " FAIL, expected ") (write expected)))
  (newline))

(define (iota n) (let loop ((i (- n 1)) (acc '())) (if (< i 0) acc (loop (- i 1) (cons i acc)))))
(define (sum l) (let loop ((l l) (s 0)) (if (null? l) s (loop (cdr l) (+ s (car l))))))

; 1. A tail-recursive loop of a million iterations (constant C stack).
(define (count-up i n acc) (if (= i n) acc (count-up (+ i 1) n (+ acc i))))
(check "tail loop 1e6" (count-up 0 1000000 0) 499999500000)

; 2. Lists built and dropped: 300 lists of 2000 pairs (600000 pairs).
(define (list-churn rounds)
  (let loop ((r 0) (total 0))
    (if (= r rounds) total
        (loop (+ r 1) (+ total (sum (reverse (iota 2000))))))))
(check "list churn" (list-churn 300) (* 300 1999000))

; 3. Binary trees: many short-lived trees while one long-lived tree stays.
(define (make-tree d) (if (= d 0) (cons '() '()) (cons (make-tree (- d 1)) (make-tree (- d 1)))))
(define (tree-nodes t) (if (null? (car t)) 1 (+ 1 (tree-nodes (car t)) (tree-nodes (cdr t)))))
(define long-lived (make-tree 16))
(define (tree-rounds depth count)
  (let loop ((i 0) (nodes 0))
    (if (= i count) nodes (loop (+ i 1) (+ nodes (tree-nodes (make-tree depth)))))))
(check "short-lived trees" (tree-rounds 10 200) (* 200 2047))
(check "long-lived tree" (tree-nodes long-lived) 131071)

; 4. Strings: numbers written out and joined, 20000 times.
(define (number-line n)
  (let loop ((i 0) (acc ""))
    (if (= i n) acc (loop (+ i 1) (string-append acc (number->string i) ",")))))
(define (string-rounds count)
  (let loop ((i 0) (total 0))
    (if (= i count) total (loop (+ i 1) (+ total (string-length (number-line 100)))))))
(check "string building" (string-rounds 200) (* 200 290))
(check "string contents" (substring (number-line 12) 14 25) "7,8,9,10,11")

; 5. Vectors: fill, update and sum many vectors of boxed values.
(define (vector-round n)
  (let ((v (make-vector n 0)))
    (do ((i 0 (+ i 1))) ((= i n)) (vector-set! v i (list i (* i 1.0))))
    (do ((i 0 (+ i 1)) (s 0 (+ s (car (vector-ref v i))))) ((= i n) s))))
(define (vector-rounds count)
  (let loop ((i 0) (total 0))
    (if (= i count) total (loop (+ i 1) (+ total (vector-round 1000))))))
(check "vector churn" (vector-rounds 300) (* 300 499500))

; 6. Closures: a counter per element, each called a few times.
(define (make-counter start)
  (let ((n start)) (lambda () (set! n (+ n 1)) n)))
(define counters (map make-counter (iota 5000)))
(for-each (lambda (c) (c) (c)) counters)
(check "closures" (sum (map (lambda (c) (c)) counters)) (+ (* 5000 3) (sum (iota 5000))))

; 7. Merge sort of pseudo-random numbers.
(define (random-list n seed)
  (let loop ((i 0) (x seed) (acc '()))
    (if (= i n) acc
        (let ((next (modulo (+ (* x 1103515245) 12345) 2147483648)))
          (loop (+ i 1) next (cons (quotient next 65536) acc))))))
(define (merge a b)
  (let loop ((a a) (b b) (acc '()))
    (cond ((null? a) (append (reverse acc) b))
          ((null? b) (append (reverse acc) a))
          ((<= (car a) (car b)) (loop (cdr a) b (cons (car a) acc)))
          (else (loop a (cdr b) (cons (car b) acc))))))
(define (split l)
  (let loop ((l l) (a '()) (b '()))
    (if (null? l) (cons a b) (loop (cdr l) b (cons (car l) a)))))
(define (merge-sort l)
  (if (or (null? l) (null? (cdr l))) l
      (let ((halves (split l)))
        (merge (merge-sort (car halves)) (merge-sort (cdr halves))))))
(define (sorted? l) (or (null? l) (null? (cdr l)) (and (<= (car l) (cadr l)) (sorted? (cdr l)))))
(define numbers (random-list 20000 42))
(define sorted (merge-sort numbers))
(check "sort: sorted" (sorted? sorted) #t)
(check "sort: same elements" (list (length sorted) (sum sorted)) (list (length numbers) (sum numbers)))

; 8. Symbols made from strings, interned once each.
(define (symbol-round n)
  (map (lambda (i) (string->symbol (string-append "key-" (number->string (modulo i 500))))) (iota n)))
(define syms (symbol-round 20000))
(check "interned symbols" (eq? (list-ref syms 501) 'key-1) #t)
(check "symbol names" (symbol->string (list-ref syms 19999)) "key-499")

; 9. Flonums: a long inexact sum (each step allocates a flonum).
(define (harmonic n) (let loop ((i 1) (s 0.0)) (if (> i n) s (loop (+ i 1) (+ s (/ 1.0 i))))))
(check "harmonic 1e5 (rounded)" (round (* 1000 (harmonic 100000))) 12090.0)

; 10. Association lists rebuilt as they are updated.
(define (tally words)
  (let loop ((w words) (table '()))
    (if (null? w) table
        (let ((entry (assq (car w) table)))
          (if entry
              (begin (set-cdr! entry (+ (cdr entry) 1)) (loop (cdr w) table))
              (loop (cdr w) (cons (cons (car w) 1) table)))))))
(define word-table (tally syms))
(check "tally" (list (length word-table) (cdr (assq 'key-7 word-table))) '(500 40))

; 11. An eq? hash table hashes the addresses of its keys.  Collections
; move the keys (pairs in AMC), so the table depends on their locations
; and rehashes when that dependency goes stale (--stats counts them).
(define (count-if p l) (let loop ((l l) (n 0)) (if (null? l) n (loop (cdr l) (if (p (car l)) (+ n 1) n)))))
(define eq-table (make-eq-hashtable))
(define eq-keys (map (lambda (i) (cons i i)) (iota 2000)))
(for-each (lambda (k) (hashtable-set! eq-table k (* 2 (car k)))) eq-keys)
(list-churn 20)
(gc)
(check "eq table after the keys moved"
       (count-if (lambda (k) (eqv? (hashtable-ref eq-table k #f) (* 2 (car k)))) eq-keys) 2000)
(check "eq table compares by identity" (hashtable-ref eq-table (cons 5 5) 'none) 'none)

; 12. A weak-key table (its buckets in AWL) loses the entries whose keys
; nothing else holds.  The C stack is scanned ambiguously, so a stale
; word may keep a few of the dropped keys: the check allows that.
(define weak-table (make-weak-key-hashtable))
(define held (map (lambda (i) (list 'held i)) (iota 100)))
(for-each (lambda (k) (hashtable-set! weak-table k (cadr k))) held)
(define (add-dropped n)
  (let loop ((i 0)) (if (< i n) (begin (hashtable-set! weak-table (list 'dropped i) i) (loop (+ i 1))))))
(add-dropped 1000)
(gc)
(gc)
(check "weak table keeps held keys"
       (count-if (lambda (k) (eqv? (hashtable-ref weak-table k #f) (cadr k))) held) 100)
(check "weak table drops the rest" (<= (hashtable-count weak-table) 110) #t)

; 13. A port dropped while open is finalized, and its stream closed, once
; a collection finds it dead (a stale stack word may keep a few).
(define ports-before (finalized-port-count))
(define (open-and-drop n)
  (let loop ((i 0)) (if (< i n) (begin (open-input-file "/dev/null") (loop (+ i 1))))))
(open-and-drop 50)
(gc)
(check "dropped open ports finalized" (>= (- (finalized-port-count) ports-before) 45) #t)

(display (if (= failures 0) "all checks passed" "SOME CHECKS FAILED"))
(newline)
