package org.mobilezoo.demo;

import android.app.Activity;
import android.content.Intent;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.os.Bundle;
import android.widget.Button;
import android.widget.ImageView;
import android.widget.TextView;

import java.io.IOException;
import java.io.InputStream;

/** Classifies the bundled image with the exported zoo model. */
public class MainActivity extends Activity {
    private ZooModel model;
    private ModelConfig config;
    private Bitmap bitmap;

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        TextView result = findViewById(R.id.result);
        try {
            config = ModelConfig.load(this);
            try (InputStream in = getAssets().open(config.image)) {
                bitmap = BitmapFactory.decodeStream(in);
            }
            model = ZooModel.load(this);
            ((ImageView) findViewById(R.id.image)).setImageBitmap(bitmap);
            result.setText("model loaded with " + model.runtime());
        } catch (IOException e) {
            result.setText("cannot load the model: " + e.getMessage());
            return;
        }
        Button classify = findViewById(R.id.classify);
        classify.setOnClickListener(v -> {
            float[] input = Preprocess.toInput(bitmap, config.size, config.mean, config.std);
            long start = System.nanoTime();
            float[] logits = model.forward(input, new long[] {1, 3, config.size, config.size});
            double ms = (System.nanoTime() - start) / 1e6;
            int top = Preprocess.argmax(logits);
            result.setText(String.format("%s (%.1f ms, %s)", config.labels[top], ms, model.runtime()));
        });
        Button benchmark = findViewById(R.id.open_benchmark);
        benchmark.setOnClickListener(v -> startActivity(new Intent(this, BenchmarkActivity.class)));
    }
}
