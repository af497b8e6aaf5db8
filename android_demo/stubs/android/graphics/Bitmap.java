package android.graphics;
public class Bitmap {
    public static Bitmap createScaledBitmap(Bitmap src, int width, int height, boolean filter) { return null; }
    public void getPixels(int[] pixels, int offset, int stride, int x, int y, int width, int height) {}
}
