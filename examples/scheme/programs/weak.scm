; Weak hash tables keep their bucket vectors in an AWL pool.  A key held
; only by a weak-key table dies at the next full collection, and the
; collector's scan deletes its value with it; keys held elsewhere stay,
; with their values.  Ambiguous references from the C stack may keep a
; few dropped objects alive, so those checks allow some slack.
(define (show . xs) (for-each display xs) (newline))
(define (iota n) (let loop ((i (- n 1)) (acc '())) (if (< i 0) acc (loop (- i 1) (cons i acc)))))
(define (count-if p l) (let loop ((l l) (n 0)) (if (null? l) n (loop (cdr l) (if (p (car l)) (+ n 1) n)))))
(define (slack? n expected) (and (>= n expected) (<= n (+ expected 5))))

(define wk (make-weak-key-hashtable))
(define strong (map (lambda (i) (list 'strong i)) (iota 100)))
(define dropped (map (lambda (i) (list 'dropped i)) (iota 100)))
(for-each (lambda (k) (hashtable-set! wk k (* 10 (cadr k)))) strong)
(for-each (lambda (k) (hashtable-set! wk k (* 10 (cadr k)))) dropped)
(for-each (lambda (s) (hashtable-set! wk s (symbol->string s))) '(alpha beta gamma))
(for-each (lambda (i) (hashtable-set! wk i (* i i))) (iota 10))
(show (hashtable? wk) " " (hashtable-count wk))

; while every key is referenced, a collection keeps them all
(gc)
(show "all held: " (hashtable-count wk) " "
      (count-if (lambda (k) (= (hashtable-ref wk k -1) (* 10 (cadr k)))) (append strong dropped)))

; drop the references: only the table refers to those keys now
(set! dropped #f)
(gc)
(define (dropped-left) (count-if (lambda (k) (eq? (car k) 'dropped))
                                 (filter pair? (hashtable-keys wk))))
(show "dropped keys gone: " (<= (dropped-left) 5) ", count right: " (slack? (hashtable-count wk) 113))
(show "strong keys kept: "
      (count-if (lambda (k) (= (hashtable-ref wk k -1) (* 10 (cadr k)))) strong))
(show "symbols and fixnums kept: " (hashtable-ref wk 'beta) " " (hashtable-ref wk 9))

; a value dies with its key: each value here is also a key of a second
; weak table, which sees it go one collection after its key went (the
; first collection still finds the value through the value vector, then
; deletes the entry)
(define wk2 (make-weak-key-hashtable))
(define (fill-both n)
  (let loop ((i 0))
    (if (< i n)
        (let ((v (list 'value i)))
          (hashtable-set! wk (list 'key i) v)
          (hashtable-set! wk2 v i)
          (loop (+ i 1))))))
(fill-both 100)
(gc)
(show "values held through dead keys' entries: " (hashtable-count wk2))
(gc)
(show "values gone with their keys: " (<= (hashtable-count wk2) 10))

; weak values: the keys are fixnums, the values strings; the strings
; held elsewhere stay
(define wv (make-weak-value-hashtable))
(define kept-values (map (lambda (i) (number->string (* 2 i))) (iota 50)))
(for-each (lambda (s) (hashtable-set! wv (string->number s) s)) kept-values)
(define (add-odd n)
  (let loop ((i 0))
    (if (< i n) (begin (hashtable-set! wv (+ 1 (* 2 i)) (number->string (+ 1 (* 2 i)))) (loop (+ i 1))))))
(add-odd 50)
(show "weak values before: " (hashtable-count wv))
(gc)
(show "weak values after: " (slack? (hashtable-count wv) 50) " "
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
(show "heap walk ok: " (> (heap-check) 1000))
