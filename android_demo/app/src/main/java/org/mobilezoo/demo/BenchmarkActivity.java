package org.mobilezoo.demo;

import android.app.Activity;
import android.os.Bundle;
import android.widget.Button;
import android.widget.TextView;

import java.io.IOException;
import java.util.Arrays;

/** Runs warm-up plus timed inferences and shows mean, p50 and p90 latency. */
public class BenchmarkActivity extends Activity {
    static final int WARMUP = 10;
    static final int ITERS = 50;

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_benchmark);
        TextView stats = findViewById(R.id.stats);
        Button run = findViewById(R.id.run);
        run.setOnClickListener(v -> {
            try {
                stats.setText(measure());
            } catch (IOException e) {
                stats.setText("cannot load the model: " + e.getMessage());
            }
        });
    }

    private String measure() throws IOException {
        ModelConfig config = ModelConfig.load(this);
        ZooModel model = ZooModel.load(this);
        long[] shape = {1, 3, config.size, config.size};
        float[] input = new float[3 * config.size * config.size];
        for (int i = 0; i < WARMUP; i++) {
            model.forward(input, shape);
        }
        double[] ms = new double[ITERS];
        for (int i = 0; i < ITERS; i++) {
            long start = System.nanoTime();
            model.forward(input, shape);
            ms[i] = (System.nanoTime() - start) / 1e6;
        }
        return format(model.runtime(), ms);
    }

    /** Summary line: mean, p50, p90 (nearest rank) in ms. */
    static String format(String runtime, double[] ms) {
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double mean = 0;
        for (double value : sorted) {
            mean += value / sorted.length;
        }
        double p50 = sorted[(int) Math.ceil(0.5 * sorted.length) - 1];
        double p90 = sorted[(int) Math.ceil(0.9 * sorted.length) - 1];
        return String.format("%s\n%d runs after %d warm-up\nmean %.2f ms\np50  %.2f ms\np90  %.2f ms",
                runtime, sorted.length, WARMUP, mean, p50, p90);
    }
}
