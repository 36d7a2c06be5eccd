; Objects survive collections, move, and are still intact afterwards.
(define (show . xs) (for-each display xs) (newline))
(define (iota n) (let loop ((i (- n 1)) (acc '())) (if (< i 0) acc (loop (- i 1) (cons i acc)))))
(define (sum l) (let loop ((l l) (s 0)) (if (null? l) s (loop (cdr l) (+ s (car l))))))

; a long-lived tree, checked after much garbage has been made
(define (make-tree depth)
  (if (= depth 0) (list depth "leaf" 1.5)
      (vector depth (make-tree (- depth 1)) (make-tree (- depth 1)))))
(define (check-tree t)
  (if (pair? t) (if (and (string=? (cadr t) "leaf") (= (caddr t) 1.5)) 1 -1000000)
      (+ (check-tree (vector-ref t 1)) (check-tree (vector-ref t 2)))))
(define tree (make-tree 12))
(define (churn n) (let loop ((i 0)) (if (< i n) (begin (iota 100) (loop (+ i 1))))))
(churn 3000)
(show "tree leaves " (check-tree tree) ", heap walk ok: " (> (heap-check) 4096))

; old objects pointing at young ones
(define old (make-vector 100 '()))
(define (fill-old round)
  (let loop ((i 0))
    (if (< i 100)
        (begin (vector-set! old i (cons (string-append "s" (number->string (+ i round))) (iota 10)))
               (churn 10)
               (loop (+ i 1))))))
(fill-old 0)
(fill-old 1000)
(show (car (vector-ref old 0)) " " (car (vector-ref old 99)) " "
      (sum (map (lambda (p) (sum (cdr p))) (vector->list old))))

; closures and their environments survive
(define (make-adders n) (map (lambda (i) (lambda (x) (+ x i (* 0.5 i)))) (iota n)))
(define adders (make-adders 1000))
(churn 2000)
(show (sum (map (lambda (f) (f 1)) adders)))

; explicit full collections
(define keep (map (lambda (i) (cons i (number->string i))) (iota 10000)))
(gc)
(churn 100)
(gc)
(show (sum (map car keep)) " " (cdr (list-ref keep 9999)) " "
      (apply + (map (lambda (p) (string-length (cdr p))) keep)))

; symbols stay interned across collections
(define sym-a (string->symbol "gc-test-symbol"))
(gc)
(show (eq? sym-a 'gc-test-symbol) " " (eq? sym-a (string->symbol (string-append "gc-test-" "symbol"))))

; set-car! / set-cdr! across generations
(define chain (iota 1000))
(gc)
(let loop ((l chain) (i 0))
  (if (pair? l) (begin (set-car! l (list i (* 1.0 i))) (loop (cdr l) (+ i 1)))))
(churn 2000)
(show (sum (map car chain)) " " (apply + (map cadr chain)))

; flonum churn
(define (flsum n) (let loop ((i 0) (s 0.0)) (if (= i n) s (loop (+ i 1) (+ s 0.25)))))
(show (flsum 400000))
(show "collections happened: " (> (gc-count) 0))
(show "heap walk after full collection ok: " (begin (gc) (> (heap-check) 10000)))
