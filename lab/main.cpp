// main.cpp: folia-lab, the Dear ImGui program of the lab (Diagnose, Train, Evaluate, Bench,
// Compare). Structured like Dear ImGui's example_sdl_opengl3: setup in main(), one frame in
// main_loop_step(), which platform_run_main_loop calls in a while loop natively and through
// emscripten_set_main_loop in the browser (lab/platform-*.cpp).
//
// Automation: --screenshot OUT.png renders until the started work (diagnosis, training run,
// bench, evaluation) is done plus --frames N frames, writes the PNG, prints one JSON line of the
// visible state (state_json) on stdout and exits 0 (1 when --timeout passed first).
#include <CLI/CLI.hpp>
#include <SDL.h>
#include <imgui.h>
#include <imgui_impl_opengl3.h>
#include <imgui_impl_sdl.h>
#include <imgui_stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "lab-gl.h"
#include "lab-screenshot.h"
#include "lab-state.h"
#include "platform.h"

namespace {

using namespace folia_lab;

struct lab_options {
    std::string model, open, panel = "diagnose", screenshot, data, train_out;
    std::string evaluate_dir, compare_model;
    int frames = 3, width = 1280, height = 800, bench_runs = 100;
    double timeout_s = 600;
    bool train_demo = false, bench = false;
};

struct lab_app {
    lab_options o;
    SDL_Window *window = nullptr;
    SDL_GLContext gl = nullptr;
    lab_state s;
    bool done = false;
    int exit_code = 0;
    int settled_frames = 0;  // frames rendered since the started work finished
    double start_ms = 0;
};
lab_app *g_app = nullptr;

constexpr const char *k_panels[] = {"diagnose", "train", "evaluate", "bench", "compare"};
constexpr const char *k_titles[] = {"Diagnose", "Train", "Evaluate", "Bench", "Compare"};

void load_model_into(lab_state &s, const std::string &path) {
    std::string error;
    loaded_model m;
    // One engine thread for Diagnose: the diagnosis of one photo is short, and the Bench
    // panel makes its own 1- and N-thread engines.
    if (load_model(path, 1, &m, &error)) {
        s.model = std::move(m);
        s.model_error.clear();
    } else {
        s.model_error = error;
    }
    s.model_path_field = path;
}

void draw_header(lab_state &s) {
    ImGui::Text("Folia lab");
    ImGui::SameLine(0, 20);
    ImGui::SetNextItemWidth(560);
    const bool enter =
        ImGui::InputTextWithHint("##model", "model file (.folia)", &s.model_path_field,
                                 ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SameLine();
    if (ImGui::Button("Load model") || enter) load_model_into(s, s.model_path_field);
    ImGui::SameLine(0, 20);
    if (s.model.ctx)
        ImGui::Text("%d classes, input %dx%d, T %.3f, not sure below p %.3f", s.model.classes,
                    s.model.input_size, s.model.input_size, double(s.model.temperature),
                    double(s.model.abstain_threshold));
    if (!s.model_error.empty())
        ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", s.model_error.c_str());
}

void draw_ui(lab_state &s) {
    const ImGuiViewport *vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(vp->WorkPos);
    ImGui::SetNextWindowSize(vp->WorkSize);
    ImGui::Begin("Folia lab", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                     ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoSavedSettings);
    draw_header(s);
    if (ImGui::BeginTabBar("panels")) {
        const platform_caps caps = platform_capabilities();
        for (int i = 0; i < 5; ++i) {
            if ((i == 1 && !caps.child_processes) || ((i == 2 || i == 4) && !caps.file_system))
                continue;  // the browser: no training tools, no photo folders
            const bool force = s.panel_forced && s.panel == k_panels[i];
            if (ImGui::BeginTabItem(k_titles[i], nullptr,
                                    force ? ImGuiTabItemFlags_SetSelected : 0)) {
                if (!s.panel_forced) s.panel = k_panels[i];
                switch (i) {
                    case 0:
                        draw_diagnose_panel(s);
                        break;
                    case 1:
                        draw_train_panel(s);
                        break;
                    case 2:
                        draw_evaluate_panel(s);
                        break;
                    case 3:
                        draw_bench_panel(s);
                        break;
                    default:
                        draw_compare_panel(s);
                        break;
                }
                ImGui::EndTabItem();
            }
        }
        for (const panel_def &p : platform_panels()) {
            const bool force = s.panel_forced && s.panel == p.name;
            if (ImGui::BeginTabItem(p.title, nullptr, force ? ImGuiTabItemFlags_SetSelected : 0)) {
                if (!s.panel_forced) s.panel = p.name;
                p.draw(s);
                ImGui::EndTabItem();
            }
        }
        s.panel_forced = false;
        ImGui::EndTabBar();
    }
    ImGui::End();
}

void handle_event(lab_app &app, const SDL_Event &e) {
    ImGui_ImplSDL2_ProcessEvent(&e);
    if (e.type == SDL_QUIT) app.done = true;
    if (e.type == SDL_WINDOWEVENT && e.window.event == SDL_WINDOWEVENT_CLOSE &&
        e.window.windowID == SDL_GetWindowID(app.window))
        app.done = true;
    if (e.type == SDL_DROPFILE) {
        const std::string path = e.drop.file;
        SDL_free(e.drop.file);
        app.s.panel = "diagnose";
        app.s.panel_forced = true;
        start_diagnosis(app.s, path);
    }
}

// --screenshot: once the work is done and N more frames are drawn, save and report.
void automation_after_render(lab_app &app, int w, int h) {
    if (app.o.screenshot.empty()) return;
    const bool timed_out = platform_now_ms() - app.start_ms > app.o.timeout_s * 1000;
    app.settled_frames = work_pending(app.s) ? 0 : app.settled_frames + 1;
    if (app.settled_frames < app.o.frames && !timed_out) return;
    std::string error;
    if (!save_screenshot_png(app.o.screenshot, w, h, &error)) {
        std::fprintf(stderr, "folia-lab: %s\n", error.c_str());
        app.exit_code = 1;
    }
    nlohmann::json j = state_json(app.s);
    j["window"] = {{"width", w}, {"height", h}};
    j["screenshot"] = app.o.screenshot;
    if (timed_out) {
        j["timed_out"] = true;
        app.exit_code = 1;
    }
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    app.done = true;
}

bool main_loop_step() {
    lab_app &app = *g_app;
    const double t0 = platform_now_ms();
    SDL_Event e;
    while (SDL_PollEvent(&e)) handle_event(app, e);
    poll_training(app.s);
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplSDL2_NewFrame();
    ImGui::NewFrame();
    app.s.charts.clear();
    draw_ui(app.s);
    ImGui::Render();
    const ImGuiIO &io = ImGui::GetIO();
    const int w = int(io.DisplaySize.x * io.DisplayFramebufferScale.x);
    const int h = int(io.DisplaySize.y * io.DisplayFramebufferScale.y);
    glViewport(0, 0, w, h);
    glClearColor(0.09f, 0.10f, 0.11f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    ++app.s.frame;
    automation_after_render(app, w, h);
    SDL_GL_SwapWindow(app.window);
    // ~60 frames a second at most, also where vsync is missing (Xvfb): the CPU goes to the
    // workers and the training child.
    const double spent = platform_now_ms() - t0;
    if (spent < 16 && !platform_capabilities().paces_frames) SDL_Delay(Uint32(16 - spent));
    return !app.done;
}

std::vector<std::string> panel_names() {
    std::vector<std::string> names(std::begin(k_panels), std::end(k_panels));
    for (const panel_def &p : platform_panels()) names.emplace_back(p.name);
    return names;
}

int parse_options(int argc, char **argv, lab_options *o) {
    CLI::App cli{"folia-lab: diagnose, train, evaluate and benchmark Folia models"};
    cli.add_option("--model", o->model, "model file (default: $FOLIA_MODEL, else the shipped one)");
    cli.add_option("--open", o->open, "photo to diagnose at start");
    cli.add_option("--panel", o->panel, "panel shown at start")
        ->check(CLI::IsMember(panel_names()));
    cli.add_option("--screenshot", o->screenshot,
                   "when the started work is done, write this PNG, print the state JSON, exit");
    cli.add_option("--frames", o->frames, "frames drawn after the work is done (--screenshot)");
    cli.add_option("--timeout", o->timeout_s, "--screenshot: give up after this many seconds");
    cli.add_option("--width", o->width);
    cli.add_option("--height", o->height);
    cli.add_option("--data", o->data, "labelled photo folder (default $FOLIA_DATA)");
    cli.add_flag("--train-demo", o->train_demo,
                 "start a tiny supervised run (3 classes, 8 photos each, 32x32, 2 epochs)");
    cli.add_flag("--bench", o->bench, "start the benchmark (1 and N threads)");
    cli.add_option("--train-out", o->train_out, "run folder of --train-demo");
    cli.add_option("--bench-runs", o->bench_runs, "timed runs per thread count");
    cli.add_option("--evaluate", o->evaluate_dir, "evaluate the model on this folder at start");
    cli.add_option("--compare", o->compare_model,
                   "compare the model with this second model on --data at start");
    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        return cli.exit(e) == 0 ? 0 : 2;
    }
    return -1;
}

// The automation flags: start the work they ask for.
void start_requested_work(lab_app &app) {
    lab_state &s = app.s;
    s.panel = app.o.panel;
    s.panel_forced = true;
    s.bench_runs = app.o.bench_runs;
    if (!app.o.data.empty()) s.train_data = s.eval_data_field = app.o.data;
    if (!app.o.open.empty()) start_diagnosis(s, app.o.open);
    if (app.o.bench) start_bench(s);
    if (!app.o.train_out.empty()) s.train_out = app.o.train_out;
    if (app.o.train_demo) {
        std::string error;
        if (!start_training(s, "supervised", false, &error))
            std::fprintf(stderr, "folia-lab: %s\n", error.c_str());
    }
    if (!app.o.evaluate_dir.empty()) {
        s.eval_data_field = app.o.evaluate_dir;
        start_evaluation(s);
    }
    if (!app.o.compare_model.empty()) {
        s.compare_model_b_field = app.o.compare_model;
        start_compare(s);
    }
}

bool init_window(lab_app &app) {
    if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_TIMER) != 0) {
        std::fprintf(stderr, "folia-lab: SDL_Init: %s\n", SDL_GetError());
        return false;
    }
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_FLAGS, 0);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK,
                        platform_gl_es() ? SDL_GL_CONTEXT_PROFILE_ES : SDL_GL_CONTEXT_PROFILE_CORE);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
    SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
    app.window =
        SDL_CreateWindow("Folia lab", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, app.o.width,
                         app.o.height, SDL_WindowFlags(SDL_WINDOW_OPENGL | SDL_WINDOW_RESIZABLE));
    if (!app.window) {
        std::fprintf(stderr, "folia-lab: SDL_CreateWindow: %s\n", SDL_GetError());
        return false;
    }
    app.gl = SDL_GL_CreateContext(app.window);
    if (!app.gl) {
        std::fprintf(stderr, "folia-lab: SDL_GL_CreateContext: %s\n", SDL_GetError());
        return false;
    }
    SDL_GL_MakeCurrent(app.window, app.gl);
    SDL_GL_SetSwapInterval(1);
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGui::GetIO().IniFilename = nullptr;  // the layout is fixed; nothing to remember
    ImGui::StyleColorsDark();
    ImGui::GetStyle().FrameRounding = 3;
    ImGui_ImplSDL2_InitForOpenGL(app.window, app.gl);
    ImGui_ImplOpenGL3_Init(platform_glsl_version());
    return true;
}

}  // namespace

lab_state *folia_lab::current_lab_state() {
    return g_app ? &g_app->s : nullptr;
}

int main(int argc, char **argv) {
    static lab_app app;
    g_app = &app;
    const int rc = parse_options(argc, argv, &app.o);
    if (rc >= 0) return rc;
    if (!init_window(app)) return 1;
    app.start_ms = platform_now_ms();
    std::string model = app.o.model;
    if (model.empty()) model = platform_getenv("FOLIA_MODEL");
    if (model.empty()) model = FOLIA_LAB_DEFAULT_MODEL;
    load_model_into(app.s, model);
    app.s.train_data = app.s.eval_data_field = platform_getenv("FOLIA_DATA");
    start_requested_work(app);
    platform_run_main_loop(main_loop_step);
    if (work_pending(app.s)) {
        // Workers are detached and still use the state: end without destructors (the child
        // process, if any, is stopped first).
        app.s.train = train_run();
        std::fflush(stdout);
        std::_Exit(app.exit_code);
    }
    ImGui_ImplOpenGL3_Shutdown();
    ImGui_ImplSDL2_Shutdown();
    ImGui::DestroyContext();
    SDL_GL_DeleteContext(app.gl);
    SDL_DestroyWindow(app.window);
    SDL_Quit();
    return app.exit_code;
}
