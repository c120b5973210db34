/* The tutorial network's SGD loop as plain C, the same arithmetic in the same order as tinynet's
 * kernels (tinynet's own exp included): the "how fast can this loop go" yardstick of the benchmarks
 * (built with the extension's flags). Not part of the package. */
#include <stddef.h>

#include "tn_exp.h"

static double sigmoid(double x) { return 1.0 / (1.0 + tn_exp(-x)); }

void train_plain_c(double *p, const double *x, const double *ys, ptrdiff_t n,
                   double learn_rate, ptrdiff_t epochs)
{
    double w1 = p[0], w2 = p[1], w3 = p[2], w4 = p[3], w5 = p[4], w6 = p[5];
    double b1 = p[6], b2 = p[7], b3 = p[8];
    for (ptrdiff_t epoch = 0; epoch < epochs; epoch++) {
        for (ptrdiff_t i = 0; i < n; i++) {
            double x0 = x[2 * i], x1 = x[2 * i + 1], y = ys[i];
            double h1 = sigmoid(w1 * x0 + w2 * x1 + b1);
            double h2 = sigmoid(w3 * x0 + w4 * x1 + b2);
            double o1 = sigmoid(w5 * h1 + w6 * h2 + b3);
            double d_L_d_ypred = -2 * (y - o1);
            double d_o1 = o1 * (1 - o1), d_h1 = h1 * (1 - h1), d_h2 = h2 * (1 - h2);
            double step = learn_rate * d_L_d_ypred;
            double step_h1 = step * (w5 * d_o1), step_h2 = step * (w6 * d_o1);
            w1 -= step_h1 * (x0 * d_h1);
            w2 -= step_h1 * (x1 * d_h1);
            b1 -= step_h1 * d_h1;
            w3 -= step_h2 * (x0 * d_h2);
            w4 -= step_h2 * (x1 * d_h2);
            b2 -= step_h2 * d_h2;
            w5 -= step * (h1 * d_o1);
            w6 -= step * (h2 * d_o1);
            b3 -= step * d_o1;
        }
    }
    p[0] = w1; p[1] = w2; p[2] = w3; p[3] = w4; p[4] = w5; p[5] = w6;
    p[6] = b1; p[7] = b2; p[8] = b3;
}
