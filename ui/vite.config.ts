import { defineConfig } from "vite";

// Two pages, one per Tauri window (labels `toolbox` and `image` in src-tauri/tauri.conf.json).
export default defineConfig({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    rollupOptions: {
      input: {
        toolbox: "toolbox.html",
        image: "image.html",
      },
    },
  },
});
